import * as ort from 'onnxruntime-node';
import type { ExtraInput, OutputSpec, TensorIo } from './model-spec';

// The part of a session that touches ONNX Runtime, shared by the model thread (model-thread.ts)
// and the session on the calling thread (InlineRunner), so both feed and read a model the same way.

/** What one run feeds the model besides the images, and which outputs it reads back. */
export interface RunPlan {
  /** The image input. */
  inputName: string;
  /** Inputs besides the image, the same for every image of a batch. */
  extraInputs: readonly ExtraInput[];
  /** Outputs to read, in the order they are laid out per image; sizes are per image (0: not known yet). */
  outputs: readonly OutputSpec[];
}

/** One output of a run, as float32 (integer class ids are converted: exact below 2^24). */
export interface OutputTensor {
  name: string;
  /** The type the model gave it. */
  type: string;
  dims: number[];
  data: Float32Array;
}

/** The model thread's messages (requests carry an id; the reply names it). */
export type ThreadRequest =
  | { kind: 'load'; id: number; path: string; options: ort.InferenceSession.SessionOptions }
  | { kind: 'run'; id: number; plan: RunPlan; dims: number[]; buffer: ArrayBufferLike; byteOffset: number; length: number }
  | { kind: 'share'; id: number; buffer: SharedArrayBuffer; inputFloats: number; outputFloats: number }
  | { kind: 'runSlots'; id: number; plan: RunPlan; indices: number[]; dims: number[] }
  | { kind: 'release'; id: number };

/** An output as it crosses back from the model thread (its buffer moved, not copied). */
export interface MovedOutput {
  name: string;
  type: string;
  dims: number[];
  buffer: ArrayBufferLike;
  byteOffset: number;
  length: number;
}

/** The model thread's answer to one request. */
export interface ThreadReply {
  id: number;
  ok: boolean;
  error?: string;
  inputs?: TensorIo[];
  outputs?: TensorIo[];
  moved?: MovedOutput[];
  dims?: number[][];
}

/** Checks that each output holds `sizes[i]` values per image for a batch of n, with the batch first. */
export function checkBatch(outputs: readonly OutputTensor[], n: number, sizes: readonly number[]): void {
  outputs.forEach((o, i) => {
    const size = sizes[i] ?? 0;
    // A batch of one may come back without its batch dimension (DETR exports squeeze it out);
    // a bigger batch must lead with it: a model that folds the batch into another dimension has
    // the right count but would hand each image another's values.
    if (o.data.length !== n * size || (n > 1 && o.dims[0] !== n)) {
      throw new Error(`output "${o.name}" is [${o.dims.join(', ')}] for a batch of ${n}; expected ${n} x ${size} values`);
    }
  });
}

/** One loaded ONNX Runtime session, fed and read per a {@link RunPlan}. */
export class SessionCore {
  private shared: { f32: Float32Array; inputFloats: number; outputFloats: number } | undefined;
  /** The batch input gathered from slots (ONNX Runtime cannot read shared memory), grown as needed. */
  private gathered = new Float32Array(0);

  private constructor(private readonly session: ort.InferenceSession) {}

  /** Creates the session on this thread. */
  static async create(path: string, options: ort.InferenceSession.SessionOptions): Promise<SessionCore> {
    return new SessionCore(await ort.InferenceSession.create(path, options));
  }

  /** The model's inputs as ONNX Runtime reports them. */
  get inputs(): TensorIo[] {
    return io(this.session.inputMetadata);
  }

  /** The model's outputs as ONNX Runtime reports them. */
  get outputs(): TensorIo[] {
    return io(this.session.outputMetadata);
  }

  /** Runs a batch of images (`data` is [n, 3, H, W], not kept) and reads the plan's outputs. */
  async run(plan: RunPlan, data: Float32Array, dims: readonly number[]): Promise<OutputTensor[]> {
    const n = dims[0] ?? 1;
    const feeds: Record<string, ort.Tensor> = { [plan.inputName]: new ort.Tensor('float32', data, dims) };
    for (const extra of plan.extraInputs) feeds[extra.name] = extraTensor(extra, n);
    const result = await this.session.run(feeds, plan.outputs.map((o) => o.name));
    return plan.outputs.map(({ name }) => {
      const output = result[name];
      if (!output) throw new Error(`the model returned no output "${name}"`);
      return { name, type: output.type, dims: [...output.dims], data: toFloat32(name, output) };
    });
  }

  /** Takes the session's shared slots (see slots.ts): an input, then the outputs, per slot. */
  share(buffer: SharedArrayBuffer, inputFloats: number, outputFloats: number): void {
    this.shared = { f32: new Float32Array(buffer), inputFloats, outputFloats };
  }

  /**
   * Runs the images in the given slots as one batch, in that order, and writes each image's
   * outputs into its slot, end to end in the plan's order; nothing is written unless every output
   * has the plan's size. Returns each output's dims.
   */
  async runSlots(plan: RunPlan, indices: readonly number[], dims: readonly number[]): Promise<number[][]> {
    if (!this.shared) throw new Error('no shared slots were given to this session');
    const { f32, inputFloats, outputFloats } = this.shared;
    const stride = inputFloats + outputFloats;
    const sizes = plan.outputs.map((o) => o.size);
    if (sizes.reduce((a, b) => a + b, 0) !== outputFloats || sizes.includes(0)) {
      throw new Error(`the plan's outputs (${sizes.join(' + ')} values) do not fill the slots' ${outputFloats}`);
    }
    const n = indices.length;
    if (this.gathered.length < n * inputFloats) this.gathered = new Float32Array(n * inputFloats);
    const batch = this.gathered.subarray(0, n * inputFloats);
    indices.forEach((index, i) => batch.set(f32.subarray(index * stride, index * stride + inputFloats), i * inputFloats));
    const outputs = await this.run(plan, batch, dims);
    checkBatch(outputs, n, sizes);
    let offset = inputFloats;
    outputs.forEach((o, k) => {
      const size = sizes[k] as number;
      indices.forEach((index, i) => f32.set(o.data.subarray(i * size, (i + 1) * size), index * stride + offset));
      offset += size;
    });
    return outputs.map((o) => o.dims);
  }

  /** Frees the ONNX Runtime session. */
  async release(): Promise<void> {
    await this.session.release();
  }
}

function io(list: readonly ort.InferenceSession.ValueMetadata[]): TensorIo[] {
  return list.map((m) => (m.isTensor ? { name: m.name, shape: [...m.shape], type: m.type } : { name: m.name, shape: [] }));
}

/** [n, ...values] with every image's row the same. */
function extraTensor(extra: ExtraInput, n: number): ort.Tensor {
  const k = extra.values.length;
  const dims = [n, k];
  switch (extra.type) {
    case 'int64': {
      const data = new BigInt64Array(n * k);
      for (let i = 0; i < n * k; i++) data[i] = BigInt(Math.trunc(extra.values[i % k] as number));
      return new ort.Tensor('int64', data, dims);
    }
    case 'int32':
      return new ort.Tensor('int32', Int32Array.from({ length: n * k }, (_, i) => extra.values[i % k] as number), dims);
    case 'float32':
      return new ort.Tensor('float32', Float32Array.from({ length: n * k }, (_, i) => extra.values[i % k] as number), dims);
  }
}

function toFloat32(name: string, output: ort.Tensor): Float32Array {
  switch (output.type) {
    case 'float32':
      return output.data as Float32Array;
    case 'int64': {
      const src = output.data as BigInt64Array;
      const out = new Float32Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = Number(src[i]);
      return out;
    }
    case 'int32':
    case 'float64':
      return Float32Array.from(output.data as Int32Array | Float64Array);
    default:
      throw new Error(`output "${name}" is ${output.type}; expected float32, int64 or int32`);
  }
}

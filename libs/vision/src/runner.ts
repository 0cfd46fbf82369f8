import * as ort from 'onnxruntime-node';
import { Worker } from 'node:worker_threads';
import type { TensorIo } from './model-spec';
import type { SharedSlots } from './slots';

/** What ONNX Runtime is asked for when a session is created. */
export interface RunnerOptions {
  provider: string;
  intraOpThreads: number;
  interOpThreads: number;
  /** Let ONNX Runtime's idle threads spin for work (lower latency, CPU burnt while idle). */
  spinning: boolean;
}

/** One output tensor, in the caller's realm. */
export interface RunnerOutput {
  type: string;
  dims: readonly number[];
  data: Float32Array;
}

/** What a run over shared slots wrote into them: the output's type and dims. */
export interface SlotsRunOutput {
  type: string;
  dims: readonly number[];
}

/** Runs one ONNX Runtime session, here or on another thread. */
export interface Runner {
  readonly inputs: TensorIo[];
  readonly outputs: TensorIo[];
  /** Runs it can do at the same time (1 but for a {@link RunnerPool}). */
  readonly size: number;
  /** Runs the model. When `movable`, `data`'s buffer is handed over (the caller must not use it again). */
  run(inputName: string, outputName: string, data: Float32Array, dims: number[], movable: boolean): Promise<RunnerOutput>;
  /** Gives the runner the session's shared slots (once, before {@link runSlots}). */
  share(slots: SharedSlots): Promise<void>;
  /**
   * Runs the images in the given shared slots as one batch (in that order) and writes each
   * image's output into its slot. Fails without writing when the output is not float32 or not
   * slots.outputFloats per image.
   */
  runSlots(inputName: string, outputName: string, indices: readonly number[], dims: number[]): Promise<SlotsRunOutput>;
  /** Calls `listener` if the runner dies on its own (its thread exited or crashed); never after release(). */
  onFailure(listener: (error: Error) => void): void;
  release(): Promise<void>;
}

function sessionOptions(options: RunnerOptions): ort.InferenceSession.SessionOptions {
  const spin = options.spinning ? '1' : '0';
  return {
    executionProviders: [options.provider],
    graphOptimizationLevel: 'all',
    ...(options.intraOpThreads > 0 ? { intraOpNumThreads: options.intraOpThreads } : {}),
    ...(options.interOpThreads > 0 ? { interOpNumThreads: options.interOpThreads } : {}),
    // Warnings (e.g. nodes placed on CPU under CUDA) go to stderr, never into a CLI's stdout.
    logSeverityLevel: 3,
    extra: { session: { intra_op: { allow_spinning: spin }, inter_op: { allow_spinning: spin } } },
  };
}

function io(list: readonly ort.InferenceSession.ValueMetadata[]): TensorIo[] {
  return list.map((m) => ({ name: m.name, shape: m.isTensor ? [...m.shape] : [] }));
}

/** The session on the calling thread. onnxruntime-node's run() blocks that thread while it computes. */
export class InlineRunner implements Runner {
  readonly size = 1;
  private slots: SharedSlots | undefined;
  /** The batch input gathered from slots (ONNX Runtime cannot read shared memory), grown as needed. */
  private gathered = new Float32Array(0);

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly inputs: TensorIo[],
    readonly outputs: TensorIo[],
  ) {}

  /** Creates the session here. */
  static async create(path: string, options: RunnerOptions): Promise<InlineRunner> {
    const session = await ort.InferenceSession.create(path, sessionOptions(options));
    return new InlineRunner(session, io(session.inputMetadata), io(session.outputMetadata));
  }

  // On this thread nothing moves: `movable` makes no difference.
  async run(inputName: string, outputName: string, data: Float32Array, dims: number[], _movable: boolean): Promise<RunnerOutput> {
    const result = await this.session.run({ [inputName]: new ort.Tensor('float32', data, dims) });
    const output = result[outputName];
    if (!output) throw new Error(`the model returned no output "${outputName}"`);
    return { type: output.type, dims: output.dims, data: output.data as Float32Array };
  }

  async share(slots: SharedSlots): Promise<void> {
    this.slots = slots;
  }

  async runSlots(inputName: string, outputName: string, indices: readonly number[], dims: number[]): Promise<SlotsRunOutput> {
    const slots = this.slots;
    if (!slots) throw new Error('no shared slots were given to this session');
    const n = indices.length;
    if (this.gathered.length < n * slots.inputFloats) this.gathered = new Float32Array(n * slots.inputFloats);
    const batch = this.gathered.subarray(0, n * slots.inputFloats);
    indices.forEach((index, i) => batch.set(slots.input(index), i * slots.inputFloats));
    const { type, dims: outDims, data } = await this.run(inputName, outputName, batch, dims, false);
    scatterOutputs(type, data, indices, slots.outputFloats, (index) => slots.output(index));
    return { type, dims: outDims };
  }

  onFailure(_listener: (error: Error) => void): void {
    // Nothing runs on its own here: a failure is the run's rejection.
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

// The thread's whole program. It is evaluated (not a file of its own) so that it runs the same
// from a webpack bundle, from TypeScript under a register hook, and under Jest.
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createRequire } = require('node:module');
const ort = createRequire(workerData.base).call(null, 'onnxruntime-node');
let session;
// Shared slots (see slots.ts): ONNX Runtime cannot read shared memory, so a batch is gathered
// into this thread's own buffer, and outputs are copied back into their slots.
let shared;
let gathered = new Float32Array(0);
const meta = (list) => list.map((m) => ({ name: m.name, shape: m.isTensor ? Array.from(m.shape) : [] }));
parentPort.on('message', async (msg) => {
  try {
    if (msg.kind === 'load') {
      session = await ort.InferenceSession.create(msg.path, msg.options);
      parentPort.postMessage({ id: msg.id, ok: true, inputs: meta(session.inputMetadata), outputs: meta(session.outputMetadata) });
    } else if (msg.kind === 'run') {
      const input = new ort.Tensor('float32', new Float32Array(msg.buffer, msg.byteOffset, msg.length), msg.dims);
      const result = await session.run({ [msg.inputName]: input });
      const output = result[msg.outputName];
      if (!output) throw new Error('the model returned no output "' + msg.outputName + '"');
      const data = output.data;
      parentPort.postMessage(
        { id: msg.id, ok: true, type: output.type, dims: Array.from(output.dims), buffer: data.buffer, byteOffset: data.byteOffset, length: data.length },
        [data.buffer],
      );
    } else if (msg.kind === 'share') {
      shared = { f32: new Float32Array(msg.buffer), inputFloats: msg.inputFloats, outputFloats: msg.outputFloats };
      parentPort.postMessage({ id: msg.id, ok: true });
    } else if (msg.kind === 'runSlots') {
      if (!shared) throw new Error('no shared slots were given to this session');
      const { f32, inputFloats, outputFloats } = shared;
      const stride = inputFloats + outputFloats;
      const n = msg.indices.length;
      if (gathered.length < n * inputFloats) gathered = new Float32Array(n * inputFloats);
      const batch = gathered.subarray(0, n * inputFloats);
      msg.indices.forEach((index, i) => batch.set(f32.subarray(index * stride, index * stride + inputFloats), i * inputFloats));
      const result = await session.run({ [msg.inputName]: new ort.Tensor('float32', batch, msg.dims) });
      const output = result[msg.outputName];
      if (!output) throw new Error('the model returned no output "' + msg.outputName + '"');
      if (output.type !== 'float32') throw new Error('output "' + msg.outputName + '" is ' + output.type + ', not float32');
      if (output.data.length !== n * outputFloats) {
        throw new Error('output "' + msg.outputName + '" is [' + Array.from(output.dims).join(', ') + '] for a batch of ' + n + '; expected ' + n + ' x ' + outputFloats + ' values');
      }
      msg.indices.forEach((index, i) => f32.set(output.data.subarray(i * outputFloats, (i + 1) * outputFloats), index * stride + inputFloats));
      parentPort.postMessage({ id: msg.id, ok: true, type: output.type, dims: Array.from(output.dims) });
    } else if (msg.kind === 'release') {
      if (session) await session.release();
      session = undefined;
      parentPort.postMessage({ id: msg.id, ok: true });
    }
  } catch (error) {
    parentPort.postMessage({ id: msg.id, ok: false, error: error && error.message ? error.message : String(error) });
  }
});
`;

interface Reply {
  id: number;
  ok: boolean;
  error?: string;
  inputs?: TensorIo[];
  outputs?: TensorIo[];
  type?: string;
  dims?: number[];
  buffer?: ArrayBuffer;
  byteOffset?: number;
  length?: number;
}

/**
 * The session on a thread of its own. onnxruntime-node 1.29's run() is synchronous: on the main
 * thread it stops the event loop for the whole model run, so job fetches, lock renewals, Redis
 * replies and the decodes waiting to be handed to sharp all stand still. Here the main thread
 * only posts the tensor (moved, not copied) and gets the output back the same way.
 */
export class ThreadRunner implements Runner {
  readonly size = 1;
  private readonly pending = new Map<number, { resolve: (reply: Reply) => void; reject: (error: Error) => void }>();
  private nextId = 1;
  private dead: Error | undefined;
  private released = false;
  private readonly failureListeners: ((error: Error) => void)[] = [];
  inputs: TensorIo[] = [];
  outputs: TensorIo[] = [];

  private constructor(private readonly worker: Worker) {
    worker.on('message', (reply: Reply) => {
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id);
      if (reply.ok) waiter.resolve(reply);
      else waiter.reject(new Error(reply.error ?? 'unknown error on the inference thread'));
    });
    const fail = (error: Error) => {
      if (this.dead) return;
      this.dead = error;
      for (const waiter of this.pending.values()) waiter.reject(error);
      this.pending.clear();
      if (!this.released) for (const listener of this.failureListeners) listener(error);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the inference thread exited (${code})`)));
  }

  /** Starts a thread and creates the session on it. */
  static async create(path: string, options: RunnerOptions): Promise<ThreadRunner> {
    // Resolve onnxruntime-node from the entry script's folder: the same copy the process uses.
    const base = process.argv[1] ?? `${process.cwd()}/`;
    const runner = new ThreadRunner(new Worker(THREAD_SOURCE, { eval: true, workerData: { base } }));
    try {
      const reply = await runner.call({ kind: 'load', path, options: sessionOptions(options) });
      runner.inputs = reply.inputs ?? [];
      runner.outputs = reply.outputs ?? [];
      return runner;
    } catch (error) {
      await runner.worker.terminate();
      throw error;
    }
  }

  async run(inputName: string, outputName: string, data: Float32Array, dims: number[], movable: boolean): Promise<RunnerOutput> {
    // Moving a view would take its whole buffer away from the caller: copy a view, move the rest.
    if (!movable || !whole(data)) data = data.slice();
    const reply = await this.call(
      { kind: 'run', inputName, outputName, dims, buffer: data.buffer, byteOffset: data.byteOffset, length: data.length },
      [data.buffer as ArrayBuffer],
    );
    if (!reply.buffer) throw new Error('the inference thread returned no data');
    return {
      type: reply.type ?? 'unknown',
      dims: reply.dims ?? [],
      data: new Float32Array(reply.buffer, reply.byteOffset ?? 0, reply.length ?? 0),
    };
  }

  async share(slots: SharedSlots): Promise<void> {
    // Sent once: later messages name slots by index, so no buffer crosses between the threads.
    await this.call({ kind: 'share', buffer: slots.buffer, inputFloats: slots.inputFloats, outputFloats: slots.outputFloats });
  }

  async runSlots(inputName: string, outputName: string, indices: readonly number[], dims: number[]): Promise<SlotsRunOutput> {
    const reply = await this.call({ kind: 'runSlots', inputName, outputName, indices: [...indices], dims });
    return { type: reply.type ?? 'unknown', dims: reply.dims ?? [] };
  }

  onFailure(listener: (error: Error) => void): void {
    this.failureListeners.push(listener);
  }

  async release(): Promise<void> {
    this.released = true;
    if (!this.dead) await this.call({ kind: 'release' }).catch(() => undefined);
    await this.worker.terminate();
  }

  /** Stops the thread as if it had crashed (tests). */
  async kill(): Promise<void> {
    await this.worker.terminate();
  }

  private call(message: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<Reply> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<Reply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...message, id }, transfer);
    });
  }
}

/**
 * Copies each image's part of a batch output into its slot, after checking the output holds
 * exactly `outputFloats` float32 values per image (nothing is written otherwise).
 */
function scatterOutputs(
  type: string,
  data: Float32Array,
  indices: readonly number[],
  outputFloats: number,
  outputOf: (index: number) => Float32Array,
): void {
  if (type !== 'float32') throw new Error(`the output is ${type}, not float32`);
  if (data.length !== indices.length * outputFloats) {
    throw new Error(`the output holds ${data.length} values for a batch of ${indices.length}; expected ${indices.length} x ${outputFloats}`);
  }
  indices.forEach((index, i) => outputOf(index).set(data.subarray(i * outputFloats, (i + 1) * outputFloats)));
}

/** Whether a typed array spans its whole buffer (so handing over the buffer gives nothing else away). */
function whole(data: Float32Array): boolean {
  return data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
}

/**
 * Several runners of one model used as one: each call goes to an idle runner (in arrival order
 * when all are busy). With one thread per runner, model runs proceed side by side, so the model
 * is no longer one serial stage that everything else waits behind.
 */
export class RunnerPool implements Runner {
  private readonly idle: Runner[];
  private readonly waiting: ((runner: Runner) => void)[] = [];

  constructor(private readonly runners: readonly Runner[]) {
    if (runners.length === 0) throw new RangeError('a runner pool needs at least one runner');
    this.idle = [...runners].reverse();
  }

  /** `n` runners made by `create`, side by side; if one cannot be made, the others are released. */
  static async create(n: number, create: () => Promise<Runner>): Promise<RunnerPool> {
    const made = await Promise.allSettled(Array.from({ length: n }, create));
    const runners = made.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = made.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await Promise.all(runners.map((r) => r.release()));
      throw failed.reason;
    }
    return new RunnerPool(runners);
  }

  get size(): number {
    return this.runners.length;
  }

  get inputs(): TensorIo[] {
    return (this.runners[0] as Runner).inputs;
  }

  get outputs(): TensorIo[] {
    return (this.runners[0] as Runner).outputs;
  }

  run(inputName: string, outputName: string, data: Float32Array, dims: number[], movable: boolean): Promise<RunnerOutput> {
    return this.with((r) => r.run(inputName, outputName, data, dims, movable));
  }

  async share(slots: SharedSlots): Promise<void> {
    await Promise.all(this.runners.map((r) => r.share(slots)));
  }

  runSlots(inputName: string, outputName: string, indices: readonly number[], dims: number[]): Promise<SlotsRunOutput> {
    return this.with((r) => r.runSlots(inputName, outputName, indices, dims));
  }

  onFailure(listener: (error: Error) => void): void {
    for (const r of this.runners) r.onFailure(listener);
  }

  async release(): Promise<void> {
    await Promise.all(this.runners.map((r) => r.release()));
  }

  private async with<T>(fn: (runner: Runner) => Promise<T>): Promise<T> {
    // The most recently used idle runner: at low load one thread does the work, with warm caches.
    const runner = this.idle.pop() ?? (await new Promise<Runner>((resolve) => this.waiting.push(resolve)));
    try {
      return await fn(runner);
    } finally {
      const next = this.waiting.shift();
      if (next) next(runner);
      else this.idle.push(runner);
    }
  }
}

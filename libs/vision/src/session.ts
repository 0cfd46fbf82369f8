import type { ModelInfo } from '@argus/contracts';
import { ModelError, messageOf } from './errors';
import { type RunPlan, checkBatch } from './model-core';
import type { ModelEntry } from './model-repository';
import { type ModelSpec, describeModel, outputFloats, settleOutputs } from './model-spec';
import { InlineRunner, type Runner, type RunnerOptions, RunnerPool, ThreadRunner } from './runner';
import { ImageSlot, SharedSlots } from './slots';

/** How a session is created: from configuration (EXECUTION_PROVIDERS, INTRA_OP_THREADS, ...). */
export interface SessionOptions {
  /** In order of preference, e.g. ['cuda', 'cpu']. */
  executionProviders: string[];
  /** 0 lets ONNX Runtime decide. */
  intraOpThreads: number;
  /** 0 lets ONNX Runtime decide. */
  interOpThreads: number;
  /** Runs at load before the session is handed out; at least one is always made. */
  warmupRuns: number;
  /** Largest batch run at once when the batch dimension is dynamic. */
  maxBatchSize: number;
  /**
   * Run the model on a thread of its own (default true): onnxruntime-node's run() is synchronous
   * and would otherwise stop the caller's event loop for the whole run.
   */
  thread?: boolean;
  /** Let ONNX Runtime's idle threads spin (default false: on few cores they steal CPU from decoding). */
  spinning?: boolean;
  /**
   * Model runs side by side (default 1): one ONNX Runtime session per run, each on a thread of its
   * own (with `thread`; a session on the calling thread runs one at a time). On a CPU, two
   * one-thread runs use two cores better than one run with two intra-op threads (docs/performance.md).
   */
  modelThreads?: number;
  /**
   * Images that may be in flight at once through {@link DetectorSession.slot} in memory shared
   * with the model (default 0: none; every slot then has memory of its own). A serving process
   * sets it to how many jobs it works on at once.
   */
  sharedSlots?: number;
  /** The CUDA device models run on when the provider is `cuda` (CUDA_DEVICE_ID). */
  cudaDeviceId?: number;
}

interface Loaded {
  session: Runner;
  provider: string;
  fallbackReasons: string[];
}

/** One loaded, warmed-up model; runs batches when its batch dimension is dynamic. */
export class DetectorSession {
  /** What every run feeds the model and reads back. */
  private readonly plan: RunPlan;

  private constructor(
    readonly entry: ModelEntry,
    readonly spec: ModelSpec,
    private readonly session: Runner,
    /** The provider that actually runs the model, not merely the one asked for. */
    readonly provider: string,
    readonly requestedProviders: string[],
    /** Why each provider tried before {@link provider} could not be used. */
    readonly fallbackReasons: string[],
    readonly maxBatchSize: number,
    readonly loadMs: number,
    readonly warmupMs: number,
    /** Things found while loading that an operator should know (e.g. a batch dimension that does not batch). */
    readonly notes: string[],
    private readonly slots: SharedSlots | undefined,
  ) {
    this.plan = planOf(spec);
  }

  /** Loads a model, recognises its layout, warms it up (and checks batching) and measures both. */
  static async create(entry: ModelEntry, options: SessionOptions): Promise<DetectorSession> {
    const requested = options.executionProviders.length > 0 ? [...options.executionProviders] : ['cpu'];
    const started = performance.now();
    const { session, provider, fallbackReasons } = await load(entry, requested, options);
    let spec: ModelSpec;
    try {
      spec = describeModel({ inputs: session.inputs, outputs: session.outputs }, entry.overrides);
    } catch (e) {
      await session.release();
      throw e instanceof ModelError ? new ModelError(e.code, `${entry.name} (${entry.path}): ${e.message}`, { cause: e }) : e;
    }
    const loadMs = performance.now() - started;
    const notes: string[] = [];
    const warmupStarted = performance.now();
    let maxBatchSize = 1;
    try {
      // A first run measures what the model leaves symbolic (a DETR export's query count).
      const probe = await session.run(planOf(spec), blank(spec), [1, 3, spec.inputHeight, spec.inputWidth], false);
      spec = settleOutputs(spec, probe.map((o) => o.data.length));
      const settled = spec;
      // Every thread of the model warms up: its first runs plan memory and are slow.
      const everyThread = <T>(fn: () => Promise<T>) => Promise.all(Array.from({ length: session.size }, fn));
      for (let i = 0; i < Math.max(1, options.warmupRuns); i++) await everyThread(() => runBatch(session, settled, [blank(settled)], 1));
      if (spec.dynamicBatch && options.maxBatchSize > 1) {
        maxBatchSize = Math.min(...(await everyThread(() => checkBatching(session, settled, options.maxBatchSize, notes))));
      }
    } catch (e) {
      await session.release();
      throw new ModelError('invalid_model', `${entry.name}: the warm-up run failed: ${messageOf(e)}`, { cause: e });
    }
    // A declared dynamic batch that failed the check is reported as static: that is how it runs.
    const batches = spec.dynamicBatch && (options.maxBatchSize <= 1 || maxBatchSize > 1);
    let slots: SharedSlots | undefined;
    if ((options.sharedSlots ?? 0) > 0) {
      slots = new SharedSlots(options.sharedSlots ?? 0, 3 * spec.inputWidth * spec.inputHeight, outputFloats(spec));
      await session.share(slots);
    }
    return new DetectorSession(
      entry,
      { ...spec, dynamicBatch: batches },
      session,
      provider,
      requested,
      fallbackReasons,
      maxBatchSize,
      loadMs,
      performance.now() - warmupStarted,
      [...new Set(notes)], // each model thread checked batching
      slots,
    );
  }

  /**
   * Calls `listener` if the model's thread dies on its own: every later run would fail, so a
   * serving process should exit and let its jobs be taken over (the inference app does).
   */
  onFailure(listener: (error: Error) => void): void {
    this.session.onFailure(listener);
  }

  /**
   * A place for one image: fill its input (preprocess's `into`), run it with {@link runSlots},
   * read its output, release it. In the memory shared with the model while a shared slot is free
   * (nothing is allocated or copied between threads), else in memory of its own.
   */
  slot(): ImageSlot {
    const slots = this.slots;
    const index = slots?.take();
    if (slots && index !== undefined) return new ImageSlot(slots.input(index), index, () => slots.give(index));
    return new ImageSlot(new Float32Array(3 * this.spec.inputWidth * this.spec.inputHeight), undefined);
  }

  /** Model runs that can proceed side by side (its threads). */
  get modelThreads(): number {
    return this.session.size;
  }

  /**
   * Runs images held in slots (as batches of up to maxBatchSize) and sets each slot's output;
   * returns the outputs in order. A shared slot's output is a view into shared memory: read it
   * before releasing the slot.
   */
  async runSlots(images: readonly ImageSlot[]): Promise<Float32Array[]> {
    const slots = this.slots;
    const outputs: Float32Array[] = [];
    for (let i = 0; i < images.length; i += this.maxBatchSize) {
      const chunk = images.slice(i, i + this.maxBatchSize);
      const indices = chunk.map((s) => s.index);
      if (!slots || !indices.every((index): index is number => index !== undefined)) {
        // Some image has memory of its own: the whole chunk goes as tensors.
        const results = await this.run(chunk.map((s) => s.input));
        chunk.forEach((s, j) => (s.output = results[j]));
        outputs.push(...results);
        continue;
      }
      try {
        await this.session.runSlots(this.plan, indices, [chunk.length, 3, this.spec.inputHeight, this.spec.inputWidth]);
      } catch (e) {
        throw new ModelError('inference_failed', `${this.entry.name} failed on a batch of ${chunk.length}: ${messageOf(e)}`, { cause: e });
      }
      for (const [j, index] of indices.entries()) {
        const output = slots.output(index);
        (chunk[j] as ImageSlot).output = output;
        outputs.push(output);
      }
    }
    return outputs;
  }

  /**
   * Runs tensors through the model: as batches of up to maxBatchSize when the batch dimension is
   * dynamic, else one by one. Returns one output per input (views into the batch output); the
   * tensors stay the caller's, untouched. For a serving loop, {@link slot} and {@link runSlots}
   * avoid the copies and allocations.
   */
  async run(tensors: Float32Array[]): Promise<Float32Array[]> {
    const size = 3 * this.spec.inputWidth * this.spec.inputHeight;
    for (const t of tensors) {
      if (t.length !== size) {
        throw new ModelError('inference_failed', `an input tensor holds ${t.length} floats; ${this.entry.name} takes ${size}`);
      }
    }
    const outputs: Float32Array[] = [];
    for (let i = 0; i < tensors.length; i += this.maxBatchSize) {
      const chunk = tensors.slice(i, i + this.maxBatchSize);
      try {
        outputs.push(...(await runBatch(this.session, this.spec, chunk, chunk.length)));
      } catch (e) {
        if (e instanceof ModelError) throw e;
        throw new ModelError('inference_failed', `${this.entry.name} failed on a batch of ${chunk.length}: ${messageOf(e)}`, { cause: e });
      }
    }
    return outputs;
  }

  /** What the inference app publishes about this version (ModelInfo but its traffic weight and updatedAt). */
  info(): Omit<ModelInfo, 'updatedAt' | 'weight'> {
    const { confidence, iou, maxDetections } = this.entry.overrides;
    const defaults = {
      ...(confidence !== undefined ? { confidence } : {}),
      ...(iou !== undefined ? { iou } : {}),
      ...(maxDetections !== undefined ? { maxDetections } : {}),
    };
    const hasDefaults = Object.keys(defaults).length > 0;
    return {
      name: this.entry.name,
      version: this.entry.version,
      digest: this.entry.digest,
      family: this.spec.family,
      input: { width: this.spec.inputWidth, height: this.spec.inputHeight },
      dynamicBatch: this.spec.dynamicBatch,
      maxBatchSize: this.maxBatchSize,
      labels: [...this.spec.labels],
      provider: this.provider,
      requestedProviders: [...this.requestedProviders],
      ...(hasDefaults ? { defaults } : {}),
      loadMs: this.loadMs,
      warmupMs: this.warmupMs,
    };
  }

  /** Frees the ONNX Runtime session. */
  async release(): Promise<void> {
    await this.session.release();
  }
}

/**
 * Tries each requested provider ALONE, in order: asked for ['cuda', 'cpu'], ONNX Runtime would
 * otherwise quietly run everything on CPU and we could not say which one runs the model.
 */
async function load(entry: ModelEntry, requested: string[], options: SessionOptions): Promise<Loaded> {
  const fallbackReasons: string[] = [];
  for (const provider of requested) {
    try {
      const runnerOptions: RunnerOptions = {
        provider,
        intraOpThreads: options.intraOpThreads,
        interOpThreads: options.interOpThreads,
        spinning: options.spinning ?? false,
        ...(options.cudaDeviceId !== undefined ? { cudaDeviceId: options.cudaDeviceId } : {}),
      };
      const threads = Math.max(1, options.modelThreads ?? 1);
      let session: Runner;
      if (options.thread === false) session = await InlineRunner.create(entry.path, runnerOptions);
      else if (threads === 1) session = await ThreadRunner.create(entry.path, runnerOptions);
      else session = await RunnerPool.create(threads, () => ThreadRunner.create(entry.path, runnerOptions));
      return { session, provider, fallbackReasons };
    } catch (e) {
      fallbackReasons.push(`${provider}: ${messageOf(e)}`);
    }
  }
  throw new ModelError(
    'invalid_model',
    `${entry.name} (${entry.path}) could not be loaded with ${requested.join(', ')}: ${fallbackReasons.join('; ')}`,
  );
}

function blank(spec: ModelSpec): Float32Array {
  return new Float32Array(3 * spec.inputWidth * spec.inputHeight).fill(0.5);
}

/**
 * A batch of n must come back as n outputs of the head's shape. A model whose batch dimension was
 * made symbolic without fixing its reshapes folds the batch into the anchors instead; such a
 * model is run one image at a time, and the reason is kept in the notes.
 */
async function checkBatching(session: Runner, spec: ModelSpec, maxBatchSize: number, notes: string[]): Promise<number> {
  const one = blank(spec);
  try {
    await runBatch(session, spec, Array.from({ length: maxBatchSize }, () => one), maxBatchSize);
    return maxBatchSize;
  } catch (e) {
    notes.push(`batch of ${maxBatchSize} failed (${messageOf(e)}); running one image at a time`);
  }
  return 1;
}

async function runBatch(session: Runner, spec: ModelSpec, tensors: Float32Array[], n: number): Promise<Float32Array[]> {
  const size = 3 * spec.inputWidth * spec.inputHeight;
  let data: Float32Array;
  if (n === 1 && tensors[0]) data = tensors[0];
  else {
    data = new Float32Array(n * size);
    tensors.forEach((t, i) => data.set(t, i * size));
  }
  // A batch is a buffer of ours, free to move; a lone tensor is the caller's.
  const outputs = await session.run(planOf(spec), data, [n, 3, spec.inputHeight, spec.inputWidth], n > 1);
  const sizes = spec.outputs.map((o) => o.size);
  try {
    checkBatch(outputs, n, sizes);
  } catch (e) {
    throw new ModelError('inference_failed', messageOf(e), { cause: e });
  }
  const [only] = outputs;
  if (outputs.length === 1 && only) {
    const perImage = sizes[0] as number;
    return Array.from({ length: n }, (_, i) => only.data.subarray(i * perImage, (i + 1) * perImage));
  }
  // Several outputs: each image's values end to end, as a slot holds them.
  const perImage = outputFloats(spec);
  return Array.from({ length: n }, (_, i) => {
    const image = new Float32Array(perImage);
    let offset = 0;
    outputs.forEach((o, k) => {
      const part = sizes[k] as number;
      image.set(o.data.subarray(i * part, (i + 1) * part), offset);
      offset += part;
    });
    return image;
  });
}

/** The parts of a spec a run needs (a small message to the model thread). */
function planOf(spec: ModelSpec): RunPlan {
  return { inputName: spec.inputName, extraInputs: spec.extraInputs, outputs: spec.outputs };
}

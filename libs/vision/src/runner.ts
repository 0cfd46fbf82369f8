import type * as ort from 'onnxruntime-node';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { type OutputTensor, type RunPlan, SessionCore, type ThreadReply, type ThreadRequest } from './model-core';
import type { TensorIo } from './model-spec';
import type { SharedSlots } from './slots';

/** What ONNX Runtime is asked for when a session is created. */
export interface RunnerOptions {
  provider: string;
  intraOpThreads: number;
  interOpThreads: number;
  /** Let ONNX Runtime's idle threads spin for work (lower latency, CPU burnt while idle). */
  spinning: boolean;
  /** The CUDA device the session runs on, when the provider is `cuda` (ONNX Runtime's default: 0). */
  cudaDeviceId?: number;
}

/** Runs one ONNX Runtime session, here or on another thread. */
export interface Runner {
  readonly inputs: TensorIo[];
  readonly outputs: TensorIo[];
  /** Runs it can do at the same time (1 but for a {@link RunnerPool}). */
  readonly size: number;
  /**
   * Runs a batch of images ([n, 3, H, W]) with the plan's extra inputs and reads its outputs, in
   * the caller's realm. When `movable`, `data`'s buffer is handed over (the caller must not use it again).
   */
  run(plan: RunPlan, data: Float32Array, dims: number[], movable: boolean): Promise<OutputTensor[]>;
  /** Gives the runner the session's shared slots (once, before {@link runSlots}). */
  share(slots: SharedSlots): Promise<void>;
  /**
   * Runs the images in the given shared slots as one batch (in that order) and writes each
   * image's outputs into its slot, end to end in the plan's order. Fails without writing when an
   * output does not hold the plan's size per image. Returns each output's dims.
   */
  runSlots(plan: RunPlan, indices: readonly number[], dims: number[]): Promise<number[][]>;
  /** Calls `listener` if the runner dies on its own (its thread exited or crashed); never after release(). */
  onFailure(listener: (error: Error) => void): void;
  release(): Promise<void>;
}

/**
 * ONNX Runtime's session options for a runner. onnxruntime-node (1.29) reads only `deviceId` of
 * the CUDA provider's options; its arena, memory limit and cuDNN search keep their defaults.
 */
export function ortSessionOptions(options: RunnerOptions): ort.InferenceSession.SessionOptions {
  const spin = options.spinning ? '1' : '0';
  const provider: ort.InferenceSession.ExecutionProviderConfig =
    options.provider === 'cuda' && options.cudaDeviceId !== undefined ? { name: 'cuda', deviceId: options.cudaDeviceId } : options.provider;
  return {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    ...(options.intraOpThreads > 0 ? { intraOpNumThreads: options.intraOpThreads } : {}),
    ...(options.interOpThreads > 0 ? { interOpNumThreads: options.interOpThreads } : {}),
    // Warnings (e.g. nodes placed on CPU under CUDA) go to stderr, never into a CLI's stdout.
    logSeverityLevel: 3,
    extra: { session: { intra_op: { allow_spinning: spin }, inter_op: { allow_spinning: spin } } },
  };
}

/** The session on the calling thread. onnxruntime-node's run() blocks that thread while it computes. */
export class InlineRunner implements Runner {
  readonly size = 1;

  private constructor(private readonly core: SessionCore) {}

  /** Creates the session here. */
  static async create(path: string, options: RunnerOptions): Promise<InlineRunner> {
    return new InlineRunner(await SessionCore.create(path, ortSessionOptions(options)));
  }

  get inputs(): TensorIo[] {
    return this.core.inputs;
  }

  get outputs(): TensorIo[] {
    return this.core.outputs;
  }

  // On this thread nothing moves: `movable` makes no difference.
  run(plan: RunPlan, data: Float32Array, dims: number[], _movable: boolean): Promise<OutputTensor[]> {
    return this.core.run(plan, data, dims);
  }

  async share(slots: SharedSlots): Promise<void> {
    this.core.share(slots.buffer, slots.inputFloats, slots.outputFloats);
  }

  runSlots(plan: RunPlan, indices: readonly number[], dims: number[]): Promise<number[][]> {
    return this.core.runSlots(plan, indices, dims);
  }

  onFailure(_listener: (error: Error) => void): void {
    // Nothing runs on its own here: a failure is the run's rejection.
  }

  async release(): Promise<void> {
    await this.core.release();
  }
}

/**
 * Where the model thread's program is: model-thread.js beside this code in a webpack build of an
 * app (its config emits it beside main.js), else model-thread.ts beside this source file (tools,
 * tests), compiled as it loads by ts-node's transpiler. Not by @swc-node/register, which the tools
 * use on their main thread: its native binding crashes the process when worker threads that
 * loaded it come and go (seen under Jest as a segmentation fault).
 */
function threadProgram(): { file: string; options: WorkerOptions } {
  const built = join(__dirname, 'model-thread.js');
  if (existsSync(built)) return { file: built, options: {} };
  const source = join(__dirname, 'model-thread.ts');
  if (!existsSync(source)) {
    throw new Error(`the model thread's program is missing: neither ${built} nor ${source} exists; build the app with its webpack config, which emits model-thread.js beside main.js`);
  }
  const execArgv = withoutSwcRegister(process.execArgv);
  execArgv.push('--require', 'ts-node/register/transpile-only');
  // The thread's environment is the process's (a worker's default) plus where ts-node finds
  // compiler options: the workspace root has no tsconfig.json of its own.
  const env = { ...process.env, TS_NODE_PROJECT: join(__dirname, '..', 'tsconfig.lib.json') };
  return { file: source, options: { execArgv, env } };
}

/** Node options minus any `-r @swc-node/register` (threads inherit the parent's by default). */
function withoutSwcRegister(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if ((arg === '-r' || arg === '--require') && argv[i + 1]?.includes('@swc-node/register')) i++;
    else if (!(arg.startsWith('--require=') && arg.includes('@swc-node/register'))) out.push(arg);
  }
  return out;
}

/**
 * The session on a thread of its own. onnxruntime-node 1.29's run() is synchronous: on the main
 * thread it stops the event loop for the whole model run, so job fetches, lock renewals, Redis
 * replies and the decodes waiting to be handed to sharp all stand still. Here the main thread
 * only posts the tensor (moved, not copied) and gets the outputs back the same way.
 */
export class ThreadRunner implements Runner {
  readonly size = 1;
  private readonly pending = new Map<number, { resolve: (reply: ThreadReply) => void; reject: (error: Error) => void }>();
  private nextId = 1;
  private dead: Error | undefined;
  private released = false;
  private readonly failureListeners: ((error: Error) => void)[] = [];
  inputs: TensorIo[] = [];
  outputs: TensorIo[] = [];

  private constructor(private readonly worker: Worker) {
    worker.on('message', (reply: ThreadReply) => {
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
    const program = threadProgram();
    const runner = new ThreadRunner(new Worker(program.file, program.options));
    try {
      const reply = await runner.call({ kind: 'load', path, options: ortSessionOptions(options) });
      runner.inputs = reply.inputs ?? [];
      runner.outputs = reply.outputs ?? [];
      return runner;
    } catch (error) {
      await runner.worker.terminate();
      throw error;
    }
  }

  async run(plan: RunPlan, data: Float32Array, dims: number[], movable: boolean): Promise<OutputTensor[]> {
    // Moving a view would take its whole buffer away from the caller: copy a view, move the rest.
    if (!movable || !whole(data)) data = data.slice();
    const reply = await this.call(
      { kind: 'run', plan, dims, buffer: data.buffer, byteOffset: data.byteOffset, length: data.length },
      [data.buffer as ArrayBuffer],
    );
    if (!reply.moved) throw new Error('the inference thread returned no data');
    return reply.moved.map((o) => ({ name: o.name, type: o.type, dims: o.dims, data: new Float32Array(o.buffer, o.byteOffset, o.length) }));
  }

  async share(slots: SharedSlots): Promise<void> {
    // Sent once: later messages name slots by index, so no buffer crosses between the threads.
    await this.call({ kind: 'share', buffer: slots.buffer, inputFloats: slots.inputFloats, outputFloats: slots.outputFloats });
  }

  async runSlots(plan: RunPlan, indices: readonly number[], dims: number[]): Promise<number[][]> {
    const reply = await this.call({ kind: 'runSlots', plan, indices: [...indices], dims });
    return reply.dims ?? [];
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

  private call(message: DistributiveOmit<ThreadRequest, 'id'>, transfer: ArrayBuffer[] = []): Promise<ThreadReply> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<ThreadReply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...message, id }, transfer);
    });
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

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

  run(plan: RunPlan, data: Float32Array, dims: number[], movable: boolean): Promise<OutputTensor[]> {
    return this.with((r) => r.run(plan, data, dims, movable));
  }

  async share(slots: SharedSlots): Promise<void> {
    await Promise.all(this.runners.map((r) => r.share(slots)));
  }

  runSlots(plan: RunPlan, indices: readonly number[], dims: number[]): Promise<number[][]> {
    return this.with((r) => r.runSlots(plan, indices, dims));
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

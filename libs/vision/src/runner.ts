import * as ort from 'onnxruntime-node';
import { Worker } from 'node:worker_threads';
import type { TensorIo } from './model-spec';

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
  /** The input's buffer, free again, when it was handed over (to be reused for the next input). */
  input?: ArrayBuffer;
}

/** Runs one ONNX Runtime session, here or on another thread. */
export interface Runner {
  readonly inputs: TensorIo[];
  readonly outputs: TensorIo[];
  /**
   * Runs the model. When `movable`, `data`'s buffer is handed over (the caller must not use it
   * again); it may come back as `input` once the model is done with it.
   */
  run(inputName: string, outputName: string, data: Float32Array, dims: number[], movable: boolean): Promise<RunnerOutput>;
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

  async run(inputName: string, outputName: string, data: Float32Array, dims: number[], movable: boolean): Promise<RunnerOutput> {
    const result = await this.session.run({ [inputName]: new ort.Tensor('float32', data, dims) });
    const output = result[outputName];
    if (!output) throw new Error(`the model returned no output "${outputName}"`);
    return { type: output.type, dims: output.dims, data: output.data as Float32Array, ...(movable && whole(data) ? { input: data.buffer as ArrayBuffer } : {}) };
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
      // The input's buffer goes back too: the caller reuses it for the next image.
      parentPort.postMessage(
        { id: msg.id, ok: true, type: output.type, dims: Array.from(output.dims), buffer: data.buffer, byteOffset: data.byteOffset, length: data.length, input: msg.buffer },
        data.buffer === msg.buffer ? [data.buffer] : [data.buffer, msg.buffer],
      );
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
  input?: ArrayBuffer;
}

/**
 * The session on a thread of its own. onnxruntime-node 1.29's run() is synchronous: on the main
 * thread it stops the event loop for the whole model run, so job fetches, lock renewals, Redis
 * replies and the decodes waiting to be handed to sharp all stand still. Here the main thread
 * only posts the tensor (moved, not copied) and gets the output back the same way.
 */
export class ThreadRunner implements Runner {
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
      ...(reply.input ? { input: reply.input } : {}),
    };
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

/** Whether a typed array spans its whole buffer (so handing over the buffer gives nothing else away). */
function whole(data: Float32Array): boolean {
  return data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
}

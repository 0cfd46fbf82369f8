/** What one image got from a batched model run. */
export interface BatchResult {
  output: Float32Array;
  batchSize: number;
  /** Time the image waited in the batcher for the model. */
  waitMs: number;
  /** Duration of the model run the image was part of. */
  inferenceMs: number;
}

export interface BatcherOptions {
  /** Largest batch to run at once (1 for models with a static batch dimension). */
  maxBatchSize: number;
  /** How long a ready image may wait for company while the model is idle. 0: never. */
  maxWaitMs: number;
  /** Model runs at once (default 1): as many as the model has threads. */
  runsInFlight?: number;
}

interface Pending<I> {
  input: I;
  queuedAt: number;
  resolve: (slot: BatchResult) => void;
  reject: (error: unknown) => void;
}

/**
 * Adaptive batching in front of one model. While the model is busy, ready images pile up; when it
 * is free, everything waiting (up to the max) runs as one batch. A lone image on an idle model
 * runs at once (unless `maxWaitMs` asks to wait for company), so batching never taxes low load —
 * the seeds' lesson from TorchServe's batch_delay.
 */
export class Batcher<I = Float32Array> {
  private readonly pending: Pending<I>[] = [];
  private running = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly run: (inputs: I[]) => Promise<Float32Array[]>,
    private readonly options: BatcherOptions,
    private readonly onBatch: (size: number, ms: number) => void = () => undefined,
  ) {}

  /** Queues one preprocessed image and resolves with its output when its batch has run. */
  infer(input: I): Promise<BatchResult> {
    return new Promise<BatchResult>((resolve, reject) => {
      this.pending.push({ input, queuedAt: performance.now(), resolve, reject });
      this.schedule();
    });
  }

  /** Images waiting for the model right now. */
  get depth(): number {
    return this.pending.length;
  }

  private schedule(): void {
    if (this.running >= (this.options.runsInFlight ?? 1)) return; // a running batch drains the rest when it ends
    if (this.pending.length >= this.options.maxBatchSize || this.options.maxWaitMs <= 0) {
      this.start();
      return;
    }
    this.timer ??= setTimeout(() => this.start(), this.options.maxWaitMs);
  }

  private start(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.running >= (this.options.runsInFlight ?? 1) || this.pending.length === 0) return;
    this.running++;
    const batch = this.pending.splice(0, this.options.maxBatchSize);
    void this.execute(batch);
  }

  private async execute(batch: Pending<I>[]): Promise<void> {
    const startedAt = performance.now();
    try {
      const outputs = await this.run(batch.map((p) => p.input));
      const inferenceMs = performance.now() - startedAt;
      this.onBatch(batch.length, inferenceMs);
      batch.forEach((p, i) => {
        const output = outputs[i];
        if (output) p.resolve({ output, batchSize: batch.length, waitMs: startedAt - p.queuedAt, inferenceMs });
        else p.reject(new Error(`model returned ${outputs.length} outputs for a batch of ${batch.length}`));
      });
    } catch (error) {
      for (const p of batch) p.reject(error);
    } finally {
      this.running--;
      if (this.pending.length > 0) this.schedule();
    }
  }
}

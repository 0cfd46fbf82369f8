/** What one item got from a batched run. */
export interface BatchResult<O> {
  output: O;
  batchSize: number;
  /** Time the item waited in the batcher for the run. */
  waitMs: number;
  /** Duration of the run the item was part of. */
  runMs: number;
}

export interface BatcherOptions {
  /** Largest batch to run at once (1 for a model with a static batch dimension). */
  maxBatchSize: number;
  /** How long a ready item may wait for company while nothing runs. 0: never. */
  maxWaitMs: number;
  /** Runs at once (default 1): as many as the resource behind it can take side by side. */
  runsInFlight?: number;
  /**
   * With maxWaitMs 0: let a run start only once the current turn of the event loop is over
   * (setImmediate), so items submitted by one burst of callbacks (the jobs of one model run
   * ending) go together instead of the first alone. Costs a lone item that turn, not a timer.
   */
  gatherTurn?: boolean;
}

interface Pending<I, O> {
  input: I;
  queuedAt: number;
  resolve: (result: BatchResult<O>) => void;
  reject: (error: unknown) => void;
}

/**
 * Adaptive batching in front of one resource (a model, a database). While a run is going, ready
 * items pile up; when a run ends, everything waiting (up to the max) goes as the next batch. A
 * lone item on an idle resource runs at once (unless `maxWaitMs` asks to wait for company), so
 * batching never taxes low load: a fixed batch delay makes every quiet request wait for nobody.
 * `run` gets the batch's inputs and returns one output per input, in order.
 */
export class Batcher<I, O> {
  private readonly pending: Pending<I, O>[] = [];
  private running = 0;
  private timer: NodeJS.Timeout | undefined;
  private turn: NodeJS.Immediate | undefined;

  constructor(
    private readonly run: (inputs: I[]) => Promise<O[]>,
    private readonly options: BatcherOptions,
    private readonly onBatch: (size: number, ms: number) => void = () => undefined,
  ) {}

  /** Queues one item and resolves with its output when its batch has run. */
  submit(input: I): Promise<BatchResult<O>> {
    return new Promise<BatchResult<O>>((resolve, reject) => {
      this.pending.push({ input, queuedAt: performance.now(), resolve, reject });
      this.schedule();
    });
  }

  /** Items waiting for a run right now. */
  get depth(): number {
    return this.pending.length;
  }

  private schedule(): void {
    if (this.running >= (this.options.runsInFlight ?? 1)) return; // a running batch drains the rest when it ends
    if (this.pending.length >= this.options.maxBatchSize) {
      this.start();
      return;
    }
    if (this.options.maxWaitMs <= 0) {
      if (!this.options.gatherTurn) this.start();
      else this.turn ??= setImmediate(() => this.start());
      return;
    }
    this.timer ??= setTimeout(() => this.start(), this.options.maxWaitMs);
  }

  private start(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.turn) {
      clearImmediate(this.turn);
      this.turn = undefined;
    }
    if (this.running >= (this.options.runsInFlight ?? 1) || this.pending.length === 0) return;
    this.running++;
    const batch = this.pending.splice(0, this.options.maxBatchSize);
    void this.execute(batch);
  }

  private async execute(batch: Pending<I, O>[]): Promise<void> {
    const startedAt = performance.now();
    try {
      const outputs = await this.run(batch.map((p) => p.input));
      const runMs = performance.now() - startedAt;
      this.onBatch(batch.length, runMs);
      batch.forEach((p, i) => {
        if (i < outputs.length) p.resolve({ output: outputs[i] as O, batchSize: batch.length, waitMs: startedAt - p.queuedAt, runMs });
        else p.reject(new Error(`the run returned ${outputs.length} outputs for a batch of ${batch.length}`));
      });
    } catch (error) {
      for (const p of batch) p.reject(error);
    } finally {
      this.running--;
      if (this.pending.length > 0) this.schedule();
    }
  }
}

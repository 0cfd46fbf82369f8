import type { DetectParams, Detection } from '@argus/contracts';
import type { ImageLimits } from '@argus/imaging';
import { type DetectorSession, type ImageSlot, type ModelEntry, postprocess, preprocess } from '@argus/vision';

/** At most `limit` holders at a time; the others wait in arrival order. */
export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {
    if (!(limit >= 1)) throw new RangeError(`a limiter needs a limit >= 1, not ${limit}`);
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter, so `active` never dips and a newcomer cannot jump the queue.
      if (next) next();
      else this.active--;
    }
  }
}

/**
 * Adaptive batching as apps/inference does it (BATCH_MAX_WAIT_MS=0): an image that finds the
 * model idle runs at once; images that arrive while it is busy run together as the next batch.
 */
export class AdaptiveBatcher<I = Float32Array> {
  private pending: { input: I; resolve: (o: Float32Array) => void; reject: (e: unknown) => void }[] = [];
  private running = false;
  /** Sizes of the batches run so far. */
  readonly sizes: number[] = [];

  constructor(
    private readonly run: (inputs: I[]) => Promise<Float32Array[]>,
    private readonly maxBatch: number,
  ) {}

  infer(input: I): Promise<Float32Array> {
    return new Promise((resolve, reject) => {
      this.pending.push({ input, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.maxBatch);
      this.sizes.push(batch.length);
      try {
        const outputs = await this.run(batch.map((p) => p.input));
        batch.forEach((p, i) => {
          const output = outputs[i];
          if (output) p.resolve(output);
          else p.reject(new Error(`no output ${i} of a batch of ${batch.length}`));
        });
      } catch (e) {
        for (const p of batch) p.reject(e);
      }
    }
    this.running = false;
  }
}

/** How the bare pipeline runs: images in flight, and whether model runs are batched. */
export interface PipelineShape {
  inflight: number;
  batching: boolean;
}

/** The detection parameters Argus uses for a model when the client sends none. */
export function defaultParams(entry: ModelEntry, defaults: { confidence: number; iou: number; maxDetections: number }): DetectParams {
  return {
    confidence: entry.overrides.confidence ?? defaults.confidence,
    iou: entry.overrides.iou ?? defaults.iou,
    maxDetections: entry.overrides.maxDetections ?? defaults.maxDetections,
    classes: null,
    agnostic: false,
  };
}

/**
 * The in-process pipeline: decode + letterbox (sharp), infer (ONNX Runtime), boxes. At most
 * `inflight` images are in it at once; callers beyond that wait their turn, which is what a
 * client of a saturated pipeline sees. Without batching, in-flight images run the model
 * concurrently (ONNX Runtime sessions allow concurrent runs).
 */
export class BarePipeline {
  private readonly limiter: Limiter;
  private readonly batcher: AdaptiveBatcher<ImageSlot> | undefined;

  constructor(
    readonly session: DetectorSession,
    readonly shape: PipelineShape,
    private readonly params: DetectParams,
    private readonly limits: ImageLimits,
  ) {
    this.limiter = new Limiter(shape.inflight);
    this.batcher =
      shape.batching && session.maxBatchSize > 1 ? new AdaptiveBatcher<ImageSlot>((slots) => session.runSlots(slots), session.maxBatchSize) : undefined;
  }

  /** Whether model runs are batched (asked for, and the model's batch dimension allows it). */
  get batches(): boolean {
    return this.batcher !== undefined;
  }

  /** Batch sizes run so far (batching only). */
  get batchSizes(): readonly number[] {
    return this.batcher?.sizes ?? [];
  }

  async detect(bytes: Buffer, params: DetectParams = this.params): Promise<Detection[]> {
    return this.limiter.run(async () => {
      // As apps/inference does it: the image in a slot shared with the model's thread.
      const slot = this.session.slot();
      try {
        const prepared = await preprocess(bytes, this.session.spec, this.limits, slot.input);
        const output = this.batcher ? await this.batcher.infer(slot) : (await this.session.runSlots([slot]))[0];
        if (!output) throw new Error('the model returned no output');
        return postprocess(output, this.session.spec, prepared, params);
      } finally {
        slot.release();
      }
    });
  }
}

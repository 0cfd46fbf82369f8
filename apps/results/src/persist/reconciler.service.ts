import { ArgusStore, DETECT_QUEUE, type DetectQueue } from '@argus/broker';
import { decodeFailure, DetectJobSchema } from '@argus/contracts';
import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';

const EVERY_MS = 5000;
const BATCH = 500;

/**
 * The safety net that makes "nothing accepted is lost" hold when a worker cannot speak for
 * itself. A detection job can fail without its worker's code running (it stalled more often than
 * BullMQ allows: a worker crashing on it again and again); its requests still need a `failed` row.
 * Ending the work again for every failed job also persists a request that joined a failing job
 * after its worker had ended the work (a missed deadline stores no outcome to stop it joining).
 */
@Injectable()
export class Reconciler implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(Reconciler.name);
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    @Inject(DETECT_QUEUE) private readonly detect: DetectQueue,
    private readonly store: ArgusStore,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.tick(), EVERY_MS);
    this.timer.unref();
  }

  /** One pass; safe to run repeatedly (ending work twice hands over nothing the second time). */
  async tick(): Promise<{ failedDetections: number }> {
    if (this.running) return { failedDetections: 0 };
    this.running = true;
    try {
      return { failedDetections: await this.reportFailedDetections() };
    } catch (error) {
      this.logger.warn({ msg: 'reconcile pass failed', error: error instanceof Error ? error.message : String(error) });
      return { failedDetections: 0 };
    } finally {
      this.running = false;
    }
  }

  private async reportFailedDetections(): Promise<number> {
    const redis = this.store.redis;
    const cursorKey = `${this.store.keys.prefix}:reconcile:detect-failed`;
    const since = Number((await redis.get(cursorKey)) ?? '0');
    const failedSet = this.detect.keys['failed'];
    if (!failedSet) return 0;
    const entries = await redis.zrangebyscore(failedSet, `(${since}`, '+inf', 'WITHSCORES', 'LIMIT', 0, BATCH);
    let count = 0;
    let last = since;
    for (let i = 0; i < entries.length; i += 2) {
      const jobId = entries[i];
      const score = Number(entries[i + 1]);
      if (!jobId) continue;
      const job = await this.detect.getJob(jobId);
      const data = DetectJobSchema.safeParse(job?.data);
      if (job && data.success) {
        // The worker ends the work itself when its code ran: then nobody is attached any more
        // and this hands over nothing. The outcome is left as the worker stored it (or not).
        const handed = await this.store.endWork(
          data.data,
          jobId,
          { jobId, attempts: job.attemptsMade, outcome: { ok: false, error: decodeFailure(job.failedReason) }, failedAt: new Date(job.finishedOn ?? Date.now()).toISOString() },
          false,
        );
        if (handed > 0) this.logger.warn({ msg: 'persisted requests of a failed job its worker did not end', jobId, requests: handed });
        count += 1;
      }
      last = Math.max(last, score);
    }
    if (last > since) await redis.set(cursorKey, String(last));
    return count;
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

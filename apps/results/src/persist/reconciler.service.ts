import { ArgusStore, DETECT_QUEUE, type DetectQueue, RESULTS_QUEUE, type ResultsQueue, sendResult } from '@argus/broker';
import { decodeFailure, DetectJobSchema } from '@argus/contracts';
import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { DatabaseWatch } from '../database/database-watch.service';

const EVERY_MS = 5000;
const BATCH = 500;

/**
 * The safety net that makes "nothing accepted is lost" hold when a worker cannot speak for
 * itself. A detection job can fail without its worker's code running (it stalled more often than
 * BullMQ allows: a worker crashing on it again and again); its requests still need a `failed` row.
 * And a results message that failed for good while Postgres was away is retried once it is back.
 */
@Injectable()
export class Reconciler implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(Reconciler.name);
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    @Inject(DETECT_QUEUE) private readonly detect: DetectQueue,
    @Inject(RESULTS_QUEUE) private readonly results: ResultsQueue,
    private readonly store: ArgusStore,
    private readonly database: DatabaseWatch,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.tick(), EVERY_MS);
    this.timer.unref();
  }

  /** One pass; safe to run repeatedly (everything it sends is idempotent). */
  async tick(): Promise<{ failedDetections: number; retriedResults: number }> {
    if (this.running) return { failedDetections: 0, retriedResults: 0 };
    this.running = true;
    try {
      const failedDetections = await this.reportFailedDetections();
      const retriedResults = this.database.up ? await this.retryFailedResults() : 0;
      return { failedDetections, retriedResults };
    } catch (error) {
      this.logger.warn({ msg: 'reconcile pass failed', error: error instanceof Error ? error.message : String(error) });
      return { failedDetections: 0, retriedResults: 0 };
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
        // The worker sends this itself when its code ran; sending it again is a no-op.
        await sendResult(this.results, {
          kind: 'failed',
          workKey: data.data.workKey,
          jobId,
          error: decodeFailure(job.failedReason),
          attempts: job.attemptsMade,
          failedAt: new Date(job.finishedOn ?? Date.now()).toISOString(),
        });
        await this.store.releaseImage(data.data.sha256, jobId);
        count += 1;
      }
      last = Math.max(last, score);
    }
    if (last > since) await redis.set(cursorKey, String(last));
    return count;
  }

  private async retryFailedResults(): Promise<number> {
    const failed = await this.results.getFailed(0, 99);
    let retried = 0;
    for (const job of failed) {
      if (!isDatabaseOutage(job.failedReason)) continue;
      await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      retried += 1;
    }
    if (retried > 0) this.logger.log({ msg: 'retried results messages that failed while the database was away', count: retried });
    return retried;
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

/** Whether a failure reason says the database could not be reached (worth retrying later). */
export function isDatabaseOutage(reason: string | undefined): boolean {
  if (!reason) return false;
  return /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|Connection terminated|connection timeout|timeout exceeded when trying to connect|the database system is (starting up|shutting down)|terminating connection due to administrator command|Client has encountered a connection error/i.test(
    reason,
  );
}

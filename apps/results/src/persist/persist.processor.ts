import { cappedBackoff, connectionErrorLogger } from '@argus/broker';
import { encodeFailure, type PersistJob, PersistJobSchema, persistRequests, QueueName } from '@argus/contracts';
import { inSpan, Metrics, withCorrelation } from '@argus/observability';
import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DelayedError, type Job, UnrecoverableError } from 'bullmq';
import { DatabaseWatch } from '../database/database-watch.service';
import { isOutage, PersistService } from './persist.service';

/**
 * Persist jobs taken at once. Each waits in the persistence batcher for the INSERT in progress,
 * so this is how many requests one batch can gather, not how many statements run.
 */
export const PERSIST_CONCURRENCY = 256;
/** While Postgres is away, when a job taken before it went is looked at again. */
const OUTAGE_RETRY_MS = 1000;

/**
 * The `results` queue's processor: each persist job's rows go to Postgres in the batch the
 * persistence service is gathering; the job completes once they are committed. A payload that is
 * not a persist job fails for good. While Postgres is away no job is taken (the worker is paused)
 * and a job caught by the outage is put back without spending an attempt; any other failure is
 * retried with a capped backoff, and after RESULTS_ATTEMPTS it stays a failed job with its reason,
 * to be retried from Bull Board or the CLI once its cause is fixed.
 */
@Processor(QueueName.Results, { concurrency: PERSIST_CONCURRENCY, settings: { backoffStrategy: (attemptsMade: number) => cappedBackoff(attemptsMade) } })
export class PersistProcessor extends WorkerHost implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(PersistProcessor.name);
  private stopWatching: (() => void) | undefined;

  constructor(
    private readonly persistence: PersistService,
    private readonly database: DatabaseWatch,
    private readonly metrics: Metrics,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    this.stopWatching = this.database.onChange((up) => {
      if (up) {
        void this.worker.resume();
        this.logger.log({ msg: 'Postgres is back: taking persist jobs again' });
      } else {
        // Jobs in hand finish (or are put back); no new one is taken while Postgres is away.
        void this.worker.pause(true).then(() => this.logger.warn({ msg: 'Postgres is away: not taking persist jobs; they wait in the queue' }));
      }
    });
  }

  onApplicationShutdown(): void {
    this.stopWatching?.();
  }

  private readonly onError = connectionErrorLogger('worker:results');

  /** Redis going away shows as a burst of connection errors: logged at most every few seconds. */
  @OnWorkerEvent('error')
  workerError(error: Error): void {
    this.onError(error);
  }

  async process(job: Job<PersistJob>, token?: string): Promise<number> {
    const parsed = PersistJobSchema.safeParse(job.data);
    if (!parsed.success) {
      this.metrics.jobsTotal.inc({ queue: QueueName.Results, outcome: 'failed', code: 'validation_failed' });
      this.logger.error({ msg: 'invalid persist job', jobId: job.id, issues: parsed.error.issues.slice(0, 5) });
      throw new UnrecoverableError(encodeFailure({ code: 'validation_failed', message: `Invalid persist job: ${parsed.error.message.slice(0, 500)}` }));
    }
    const data = parsed.data;
    const requests = persistRequests(data);
    const started = performance.now();
    try {
      const inserted = await inSpan('persist rows', { 'argus.requests': requests.length, 'argus.request_ids': requests.map((r) => r.id).join(',') }, () =>
        this.persistence.persist(data),
      );
      this.metrics.jobsTotal.inc({ queue: QueueName.Results, outcome: 'completed', code: '' });
      this.logger.debug({ msg: 'persist job done', jobId: job.id, attempt: job.attemptsMade + 1, rows: requests.length, inserted, ms: Math.round(performance.now() - started) });
      return inserted;
    } catch (error) {
      if (isOutage(error) && token) {
        // Not the job's fault: back to the queue for later, its attempts untouched; and no more
        // jobs are taken until a probe finds Postgres usable (a read-only one answers SELECT 1).
        this.database.report(error);
        await job.moveToDelayed(Date.now() + OUTAGE_RETRY_MS, token);
        throw new DelayedError();
      }
      this.metrics.jobsTotal.inc({ queue: QueueName.Results, outcome: 'retried', code: 'persist_failed' });
      withCorrelation(requests[0]?.correlationId ?? '', () =>
        this.logger.warn({ msg: 'persist job failed', jobId: job.id, attempt: job.attemptsMade + 1, requests: requests.length, error: error instanceof Error ? error.message : String(error) }),
      );
      throw error;
    }
  }
}

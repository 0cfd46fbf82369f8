import { CAPPED_BACKOFF, cappedBackoff, connectionErrorLogger, logConnectionErrors } from '@argus/broker';
import { QueueName, type ResultJob, ResultJobSchema } from '@argus/contracts';
import { Metrics } from '@argus/observability';
import { InjectQueue, OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { type BeforeApplicationShutdown, Logger } from '@nestjs/common';
import { type Job, type MinimalJob, type Queue, UnrecoverableError } from 'bullmq';
import { PersistService } from './persist.service';

/** Marks results messages that can never be persisted (they fail at once, and are not retried). */
export const INVALID_MESSAGE = 'invalid_message';

/**
 * The consumer of the results queue: validates each message and persists it. Database errors are
 * rethrown so BullMQ retries with capped backoff; while the database is away the worker is paused
 * (see DatabaseWatch), so an outage does not use up attempts.
 */
@Processor(QueueName.Results, {
  concurrency: 16,
  settings: {
    backoffStrategy: (attemptsMade: number, type?: string, _error?: Error, job?: MinimalJob) => {
      const backoff = job?.opts.backoff;
      const base = typeof backoff === 'object' && backoff.delay !== undefined ? backoff.delay : 200;
      return type === CAPPED_BACKOFF ? cappedBackoff(attemptsMade, base) : base;
    },
  },
})
export class ResultsProcessor extends WorkerHost implements BeforeApplicationShutdown {
  private readonly logger = new Logger(ResultsProcessor.name);

  private readonly workerErrors = connectionErrorLogger(`worker:${QueueName.Results}`);

  constructor(
    private readonly persistence: PersistService,
    private readonly metrics: Metrics,
    @InjectQueue(QueueName.Results) queue: Queue,
  ) {
    super();
    // Structured, throttled logs instead of raw stacks while Redis is away.
    logConnectionErrors(queue, `queue:${QueueName.Results}`);
  }

  @OnWorkerEvent('error')
  onError(error: Error): void {
    this.workerErrors(error);
  }

  async process(job: Job<ResultJob>): Promise<{ inserted: number }> {
    const parsed = ResultJobSchema.safeParse(job.data);
    if (!parsed.success) {
      this.logger.error({ msg: 'invalid results message', jobId: job.id, issues: parsed.error.issues.slice(0, 5) });
      throw new UnrecoverableError(`${INVALID_MESSAGE}: ${parsed.error.message}`);
    }
    const started = performance.now();
    const inserted = await this.persistence.persist(parsed.data);
    this.metrics.jobsTotal.inc({ queue: QueueName.Results, outcome: 'completed', code: '' });
    this.logger.log({ msg: 'persisted', jobId: job.id, kind: parsed.data.kind, attempt: job.attemptsMade + 1, inserted, ms: Math.round(performance.now() - started) });
    return { inserted };
  }

  /**
   * SIGTERM: stop taking messages and let the ones in hand finish, before the database connection
   * closes (onApplicationShutdown hooks run together, so waiting there would race the pool).
   */
  async beforeApplicationShutdown(): Promise<void> {
    await this.worker.close();
    this.logger.log({ msg: 'results worker closed' });
  }

  @OnWorkerEvent('failed')
  onFailed(job: Job<ResultJob> | undefined, error: Error): void {
    this.metrics.jobsTotal.inc({ queue: QueueName.Results, outcome: 'retried', code: 'persist_failed' });
    this.logger.warn({ msg: 'persist attempt failed', jobId: job?.id, attempt: job?.attemptsMade, error: error.message });
  }
}

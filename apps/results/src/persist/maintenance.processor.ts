import { connectionErrorLogger } from '@argus/broker';
import { JobName, QueueName } from '@argus/contracts';
import { InjectQueue, OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger, type OnApplicationBootstrap } from '@nestjs/common';
import type { Job, Queue } from 'bullmq';
import { RETENTION_PAUSE_MS, RetentionService } from '../retention/retention.service';
import { Reconciler, summary } from './reconciler.service';

/** How often the reconciler looks at the ledger. */
export const RECONCILE_EVERY_MS = 5000;
/** How often retention looks for rows past RESULTS_RETENTION_DAYS. */
export const RETENTION_EVERY_MS = 3_600_000;

/**
 * The `maintenance` queue's processor: scheduled upkeep of apps/results as BullMQ jobs, so one
 * replica at a time runs each pass, and the passes show in Bull Board. The reconciler every few
 * seconds; retention every hour, one slice per job, the next slice of a backlog a delayed job of
 * its own (so reconciler passes run between slices, never behind a long sweep).
 */
@Processor(QueueName.Maintenance)
export class MaintenanceProcessor extends WorkerHost implements OnApplicationBootstrap {
  private readonly logger = new Logger(MaintenanceProcessor.name);

  constructor(
    private readonly reconciler: Reconciler,
    private readonly retention: RetentionService,
    @InjectQueue(QueueName.Maintenance) private readonly queue: Queue,
  ) {
    super();
  }

  async onApplicationBootstrap(): Promise<void> {
    // Upserted by every replica at start: one schedule, whatever the number of replicas.
    await this.queue.upsertJobScheduler(JobName.Reconcile, { every: RECONCILE_EVERY_MS }, { name: JobName.Reconcile, opts: { removeOnComplete: 100, removeOnFail: 1000 } });
    if (this.retention.enabled) {
      await this.queue.upsertJobScheduler(JobName.Retention, { every: RETENTION_EVERY_MS }, { name: JobName.Retention, opts: { removeOnComplete: 100, removeOnFail: 1000 } });
    } else {
      await this.queue.removeJobScheduler(JobName.Retention);
    }
  }

  private readonly onError = connectionErrorLogger('worker:maintenance');

  /** Redis going away shows as a burst of connection errors: logged at most every few seconds. */
  @OnWorkerEvent('error')
  workerError(error: Error): void {
    this.onError(error);
  }

  async process(job: Job): Promise<unknown> {
    const started = performance.now();
    switch (job.name) {
      case JobName.Reconcile: {
        const done = summary(await this.reconciler.pass());
        this.logger.debug({ msg: 'reconcile pass', jobId: job.id, ms: Math.round(performance.now() - started), ...done });
        return done;
      }
      case JobName.Retention: {
        const slice = await this.retention.slice();
        if (slice.more) {
          // One follow-up at a time, however many schedules and replicas fire meanwhile.
          await this.queue.add(JobName.Retention, {}, { delay: RETENTION_PAUSE_MS, deduplication: { id: 'retention-next' }, removeOnComplete: 100, removeOnFail: 1000 });
        }
        if (slice.detections + slice.batches > 0) {
          this.logger.log({ msg: 'retention slice', jobId: job.id, ms: Math.round(performance.now() - started), ...slice });
        }
        return slice;
      }
      default:
        this.logger.warn({ msg: 'unknown maintenance job; ignored', name: job.name, jobId: job.id });
        return null;
    }
  }
}

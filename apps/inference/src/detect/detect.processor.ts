import { createRedis } from '@argus/broker';
import { ARGUS_CONFIG, type ArgusConfig } from '@argus/config';
import { type DetectJob, DetectJobSchema, encodeFailure, type InferenceResult, QueueName } from '@argus/contracts';
import { Metrics, withCorrelation } from '@argus/observability';
import { type BeforeApplicationShutdown, Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { DetectService, type JobContext } from './detect.service';
import { classifyFailure } from './failure';

/**
 * The BullMQ worker of the detection queue. main.ts starts it only after every model is loaded and
 * warm; it validates each job's payload, runs the use case, and turns failures into retries or
 * final failures with a code.
 */
@Injectable()
export class DetectProcessor implements BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger(DetectProcessor.name);
  private worker: Worker<DetectJob, InferenceResult> | undefined;
  private connection: Redis | undefined;

  constructor(
    @Inject(ARGUS_CONFIG) private readonly config: ArgusConfig,
    private readonly detect: DetectService,
    private readonly metrics: Metrics,
  ) {}

  /** Starts taking jobs. */
  start(): void {
    const { worker: options, redis } = this.config;
    this.connection = createRedis(redis.url, { name: 'argus:inference:worker', failFast: false });
    this.worker = new Worker<DetectJob, InferenceResult>(QueueName.Detect, (job) => this.process(job), {
      connection: this.connection,
      prefix: redis.prefix,
      concurrency: options.concurrency,
      lockDuration: options.lockMs,
      stalledInterval: options.stalledIntervalMs,
      maxStalledCount: 1,
      autorun: true,
    });
    this.worker.on('error', (error) => this.logger.error({ msg: 'worker error', error: error.message }));
    this.worker.on('stalled', (jobId) => this.logger.warn({ msg: 'job stalled; BullMQ will run it again', jobId }));
    this.logger.log({ msg: 'worker started', queue: QueueName.Detect, concurrency: options.concurrency });
  }

  /** Whether the worker is taking jobs. */
  running(): boolean {
    return this.worker?.isRunning() ?? false;
  }

  private async process(job: Job<DetectJob, InferenceResult>): Promise<InferenceResult> {
    const context: JobContext = {
      jobId: job.id ?? 'unknown',
      attempt: job.attemptsMade + 1,
      createdAt: job.timestamp,
      activeAt: job.processedOn ?? Date.now(),
    };
    const parsed = DetectJobSchema.safeParse(job.data);
    if (!parsed.success) {
      // Without a valid payload there is no work key to report to: fail the job alone, loudly.
      this.metrics.jobsTotal.inc({ queue: QueueName.Detect, outcome: 'failed', code: 'validation_failed' });
      this.logger.error({ msg: 'invalid job payload', jobId: context.jobId, issues: parsed.error.issues.slice(0, 5) });
      throw new UnrecoverableError(encodeFailure({ code: 'validation_failed', message: `Invalid job payload: ${parsed.error.message}` }));
    }
    const data = parsed.data;
    return withCorrelation(data.correlationId, async () => {
      const started = performance.now();
      this.logger.debug({ msg: 'job start', jobId: context.jobId, attempt: context.attempt, model: data.model.name, priority: data.priority });
      try {
        const result = await this.detect.detect(data, context);
        this.metrics.jobsTotal.inc({ queue: QueueName.Detect, outcome: 'completed', code: '' });
        this.logger.log({
          msg: 'job done',
          jobId: context.jobId,
          attempt: context.attempt,
          ms: Math.round(performance.now() - started),
          detections: result.detections.length,
          batch: result.timings.batchSize,
        });
        return result;
      } catch (error) {
        const { info, retryable } = classifyFailure(error);
        const attempts = job.opts.attempts ?? 1;
        const final = !retryable || context.attempt >= attempts;
        this.logger.warn({ msg: final ? 'job failed' : 'job attempt failed; will retry', jobId: context.jobId, attempt: context.attempt, code: info.code, error: info.message, ms: Math.round(performance.now() - started) });
        if (!final) {
          this.metrics.jobsTotal.inc({ queue: QueueName.Detect, outcome: 'retried', code: info.code });
          throw new Error(encodeFailure(info), { cause: error });
        }
        this.metrics.jobsTotal.inc({ queue: QueueName.Detect, outcome: 'failed', code: info.code });
        await this.detect.fail(data, context, info, !retryable);
        throw new UnrecoverableError(encodeFailure(info));
      }
    });
  }

  /**
   * SIGTERM: take no new job and let the ones in hand finish, before any onApplicationShutdown hook
   * runs (those run together: the models and Redis would go away under the active jobs). A job
   * that cannot finish in the grace period is taken back by BullMQ when its lock expires.
   */
  async beforeApplicationShutdown(): Promise<void> {
    if (!this.worker) return;
    const started = performance.now();
    await this.worker.close();
    this.logger.log({ msg: 'worker closed: jobs in hand finished', ms: Math.round(performance.now() - started) });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.worker?.close();
    this.connection?.disconnect();
  }
}

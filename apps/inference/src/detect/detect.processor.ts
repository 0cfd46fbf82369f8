import { connectionErrorLogger, createRedis, JobEvents } from '@argus/broker';
import { ARGUS_CONFIG, type ArgusConfig } from '@argus/config';
import { type DetectJob, DetectJobSchema, detectQueueName, encodeFailure, type InferenceResult } from '@argus/contracts';
import { bullmqTelemetry, Metrics, withCorrelation } from '@argus/observability';
import { type BeforeApplicationShutdown, Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { DetectService, type JobContext } from './detect.service';
import { classifyFailure } from './failure';

/**
 * The detection queues' processor: one BullMQ worker per model this process serves, on that
 * model's queue (`detect.<model>`), started only once the model is loaded and warm and closed when
 * it is unloaded (its jobs in hand finish first). The set of models changes while the process runs
 * (a model copied into the repository is served without a restart), which a processor class bound
 * to one queue name at start cannot express, so the workers are opened here, with BullModule's
 * connection settings (the app's Redis URL and key prefix). Each job's payload is validated, the
 * use case runs, and failures become retries or final failures with a code.
 */
@Injectable()
export class DetectProcessor implements BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger(DetectProcessor.name);
  private readonly workers = new Map<string, Worker<DetectJob, InferenceResult>>();
  private connection: Redis | undefined;

  constructor(
    @Inject(ARGUS_CONFIG) private readonly config: ArgusConfig,
    private readonly detect: DetectService,
    private readonly events: JobEvents,
    private readonly metrics: Metrics,
  ) {}

  /** Starts taking jobs from a model's queue (the model is loaded and warm). */
  start(model: string): void {
    if (this.workers.has(model)) return;
    const { worker: options, redis } = this.config;
    this.connection ??= createRedis(redis.url, { name: 'argus:inference:worker', failFast: false });
    const queue = detectQueueName(model);
    const worker = new Worker<DetectJob, InferenceResult>(queue, (job) => this.process(job), {
      connection: this.connection,
      prefix: redis.prefix,
      concurrency: options.concurrency,
      lockDuration: options.lockMs,
      stalledInterval: options.stalledIntervalMs,
      maxStalledCount: 1,
      autorun: false,
      telemetry: bullmqTelemetry(),
    });
    // Redis going away shows as a burst of connection errors: logged at most every few seconds.
    worker.on('error', connectionErrorLogger(`worker:${queue}`));
    worker.on('stalled', (jobId) => this.logger.warn({ msg: 'job stalled; BullMQ will run it again', queue, jobId }));
    this.workers.set(model, worker);
    void worker.run().catch((error: unknown) => this.logger.error({ msg: 'worker stopped', queue, error: error instanceof Error ? error.message : String(error) }));
    this.logger.log({ msg: 'worker started', queue, concurrency: options.concurrency });
  }

  /** Stops taking a model's jobs; resolves once the ones in hand have finished. */
  async stop(model: string): Promise<void> {
    const worker = this.workers.get(model);
    if (!worker) return;
    this.workers.delete(model);
    await worker.close();
    this.logger.log({ msg: 'worker stopped: jobs in hand finished', queue: detectQueueName(model) });
  }

  /** The models whose queues are being consumed. */
  consuming(): string[] {
    return [...this.workers.keys()].filter((m) => this.workers.get(m)?.isRunning());
  }

  /** Whether any worker is taking jobs. */
  running(): boolean {
    return this.consuming().length > 0;
  }

  /** One job: exported for the unit tests of the processor with fakes around it. */
  async process(job: Pick<Job<DetectJob>, 'id' | 'data' | 'attemptsMade' | 'timestamp' | 'processedOn' | 'opts' | 'queueName'>): Promise<InferenceResult> {
    const context: JobContext = {
      jobId: job.id ?? 'unknown',
      attempt: job.attemptsMade + 1,
      createdAt: job.timestamp,
      activeAt: job.processedOn ?? Date.now(),
    };
    const queue = job.queueName;
    const parsed = DetectJobSchema.safeParse(job.data);
    if (!parsed.success) {
      // Without a valid payload there is no work key to report to: fail the job alone, loudly.
      this.metrics.jobsTotal.inc({ queue, version: '', outcome: 'failed', code: 'validation_failed' });
      this.logger.error({ msg: 'invalid job payload', jobId: context.jobId, issues: parsed.error.issues.slice(0, 5) });
      throw new UnrecoverableError(encodeFailure({ code: 'validation_failed', message: `Invalid job payload: ${parsed.error.message}` }));
    }
    const data = parsed.data;
    return withCorrelation(data.correlationId, async () => {
      const started = performance.now();
      this.logger.debug({ msg: 'job start', jobId: context.jobId, attempt: context.attempt, model: data.model.name, priority: data.priority });
      try {
        const result = await this.detect.detect(data, context);
        this.metrics.jobsTotal.inc({ queue, version: result.model.version, outcome: 'completed', code: '' });
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
          this.metrics.jobsTotal.inc({ queue, version: data.model.version, outcome: 'retried', code: info.code });
          await this.events.announce(context.jobId, 'queued').catch(() => undefined); // a missed announcement only delays a watcher
          throw new Error(encodeFailure(info), { cause: error });
        }
        this.metrics.jobsTotal.inc({ queue, version: data.model.version, outcome: 'failed', code: info.code });
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
    const started = performance.now();
    await Promise.allSettled([...this.workers.keys()].map((model) => this.stop(model)));
    this.logger.log({ msg: 'workers closed: jobs in hand finished', ms: Math.round(performance.now() - started) });
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled([...this.workers.values()].map((w) => w.close()));
    this.connection?.disconnect();
  }
}

import { ArgusStore, createDetectEvents, type Outcome } from '@argus/broker';
import { ARGUS_CONFIG, type ArgusConfig } from '@argus/config';
import { decodeFailure, type InferenceResult } from '@argus/contracts';
import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { QueueEvents } from 'bullmq';

/** A detection job's state change, as the gateway hears it from BullMQ's event stream. */
export type JobEvent = { state: 'queued' | 'active' } | { state: 'completed' | 'failed'; outcome: Outcome };
export type JobListener = (event: JobEvent) => void;

/**
 * The gateway's one listener on the detection queue's event stream (one blocking Redis
 * connection per process, however many requests wait or watch), fanning each job's state changes
 * out to whoever listens for that job: `wait` (REST and GraphQL submissions), Server-Sent Events
 * and GraphQL subscriptions.
 */
@Injectable()
export class CompletionWaiter implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(CompletionWaiter.name);
  private readonly listeners = new Map<string, Set<JobListener>>();
  private waiting = 0;
  private events: QueueEvents | undefined;

  constructor(
    @Inject(ARGUS_CONFIG) private readonly config: ArgusConfig,
    private readonly store: ArgusStore,
  ) {}

  onModuleInit(): void {
    this.events = createDetectEvents(this.config.redis.url, this.config.redis.prefix, 'argus:gateway:events');
    // 'waiting' and 'delayed' after 'active' mean a failed attempt that will be retried.
    this.events.on('waiting', ({ jobId }) => this.emit(jobId, { state: 'queued' }));
    this.events.on('delayed', ({ jobId }) => this.emit(jobId, { state: 'queued' }));
    this.events.on('active', ({ jobId }) => this.emit(jobId, { state: 'active' }));
    this.events.on('completed', ({ jobId, returnvalue }) =>
      this.emit(jobId, { state: 'completed', outcome: { ok: true, result: returnvalue as unknown as InferenceResult } }),
    );
    // BullMQ emits 'failed' only when no attempt is left.
    this.events.on('failed', ({ jobId, failedReason }) => this.emit(jobId, { state: 'failed', outcome: { ok: false, error: decodeFailure(failedReason) } }));
    this.events.on('error', (error) => this.logger.warn({ msg: 'event listener error', error: error.message }));
  }

  /** Requests waiting right now (in `wait`). */
  get pending(): number {
    return this.waiting;
  }

  /** Listeners of any kind right now (waits, event streams, subscriptions). */
  get watchers(): number {
    let n = 0;
    for (const set of this.listeners.values()) n += set.size;
    return n;
  }

  /** Calls `listener` with each state change of a job until the returned function is called. */
  watch(jobId: string, listener: JobListener): () => void {
    const set = this.listeners.get(jobId) ?? new Set<JobListener>();
    set.add(listener);
    this.listeners.set(jobId, set);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(jobId) === set) this.listeners.delete(jobId);
    };
  }

  /**
   * Waits up to `ms` for the job's end. Resolves with the outcome, or null on timeout. The
   * outcome is stored before the job ends, so checking it after registering closes the gap
   * where the event fired before we listened.
   */
  async wait(jobId: string, workKey: string, ms: number): Promise<Outcome | null> {
    if (ms <= 0) return null;
    let resolveFn: (outcome: Outcome) => void = () => undefined;
    const settled = new Promise<Outcome>((resolve) => {
      resolveFn = resolve;
    });
    const stop = this.watch(jobId, (event) => {
      if (event.state === 'completed' || event.state === 'failed') resolveFn(event.outcome);
    });
    this.waiting++;
    let timer: NodeJS.Timeout | undefined;
    try {
      const stored = await this.store.getOutcome(workKey);
      if (stored) return stored;
      return await Promise.race([
        settled,
        new Promise<null>((resolve) => {
          timer = setTimeout(() => resolve(null), ms);
        }),
      ]);
    } finally {
      if (timer) clearTimeout(timer);
      this.waiting--;
      stop();
    }
  }

  private emit(jobId: string, event: JobEvent): void {
    const set = this.listeners.get(jobId);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(event);
      } catch (error) {
        this.logger.warn({ msg: 'job listener failed', jobId, error: error instanceof Error ? error.message : String(error) });
      }
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.events?.close();
  }
}

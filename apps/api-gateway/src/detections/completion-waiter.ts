import { ArgusStore, createDetectEvents, type Outcome } from '@argus/broker';
import { ARGUS_CONFIG, type ArgusConfig } from '@argus/config';
import { decodeFailure, type InferenceResult } from '@argus/contracts';
import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { QueueEvents } from 'bullmq';

/** A detection job's state change, as the gateway hears it from BullMQ's event stream. */
export type JobEvent = { state: 'queued' | 'active' } | { state: 'completed' | 'failed'; outcome: Outcome };
export type JobListener = (event: JobEvent) => void;

/** A job's end, listened for from the moment listen() was called. */
export interface PendingEnd {
  /** Waits up to `ms` more for the end; null on timeout. Stops listening either way. */
  until(ms: number): Promise<Outcome | null>;
  /** Stops listening without waiting. */
  cancel(): void;
}

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
   * Starts listening for a job's end now. Called before the job is added, nothing it does can be
   * missed, so no stored outcome needs checking (one Redis round trip less per upload).
   */
  listen(jobId: string): PendingEnd {
    let ended: Outcome | undefined;
    let resolveFn: ((outcome: Outcome) => void) | undefined;
    const stop = this.watch(jobId, (event) => {
      if (event.state !== 'completed' && event.state !== 'failed') return;
      ended = event.outcome;
      resolveFn?.(event.outcome);
    });
    const until = async (ms: number): Promise<Outcome | null> => {
      if (ended) {
        stop();
        return ended;
      }
      if (ms <= 0) {
        stop();
        return null;
      }
      this.waiting++;
      let timer: NodeJS.Timeout | undefined;
      try {
        return await new Promise<Outcome | null>((resolve) => {
          resolveFn = resolve;
          timer = setTimeout(() => resolve(null), ms);
        });
      } finally {
        clearTimeout(timer);
        this.waiting--;
        stop();
      }
    };
    return { until, cancel: stop };
  }

  /**
   * Waits up to `ms` for the end of a job that may already exist. Resolves with the outcome, or
   * null on timeout. The outcome is stored before the job ends, so checking it after starting to
   * listen closes the gap where the event fired before we listened.
   */
  async wait(jobId: string, workKey: string, ms: number): Promise<Outcome | null> {
    if (ms <= 0) return null;
    const end = this.listen(jobId);
    try {
      const stored = await this.store.getOutcome(workKey);
      if (stored) return stored;
      return await end.until(ms);
    } finally {
      end.cancel();
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

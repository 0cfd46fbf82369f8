import { ArgusStore, createDetectEvents, type Outcome } from '@argus/broker';
import { ARGUS_CONFIG, type ArgusConfig } from '@argus/config';
import { decodeFailure, type InferenceResult } from '@argus/contracts';
import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { QueueEvents } from 'bullmq';

type Resolve = (outcome: Outcome) => void;

/**
 * Serves `wait`: one listener per gateway process on the detection queue's event stream (one
 * blocking Redis connection, however many requests wait), fanning each job's end out to the
 * requests waiting for it.
 */
@Injectable()
export class CompletionWaiter implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(CompletionWaiter.name);
  private readonly waiters = new Map<string, Set<Resolve>>();
  private events: QueueEvents | undefined;

  constructor(
    @Inject(ARGUS_CONFIG) private readonly config: ArgusConfig,
    private readonly store: ArgusStore,
  ) {}

  onModuleInit(): void {
    this.events = createDetectEvents(this.config.redis.url, this.config.redis.prefix, 'argus:gateway:events');
    this.events.on('completed', ({ jobId, returnvalue }) => this.settle(jobId, { ok: true, result: returnvalue as unknown as InferenceResult }));
    this.events.on('failed', ({ jobId, failedReason }) => this.settle(jobId, { ok: false, error: decodeFailure(failedReason) }));
    this.events.on('error', (error) => this.logger.warn({ msg: 'event listener error', error: error.message }));
  }

  /** Requests waiting right now. */
  get pending(): number {
    let n = 0;
    for (const set of this.waiters.values()) n += set.size;
    return n;
  }

  /**
   * Waits up to `ms` for the job's end. Resolves with the outcome, or null on timeout. The
   * outcome is stored before the job ends, so checking it after registering closes the gap
   * where the event fired before we listened.
   */
  async wait(jobId: string, workKey: string, ms: number): Promise<Outcome | null> {
    if (ms <= 0) return null;
    let resolveFn: Resolve = () => undefined;
    const settled = new Promise<Outcome>((resolve) => {
      resolveFn = resolve;
    });
    const set = this.waiters.get(jobId) ?? new Set<Resolve>();
    set.add(resolveFn);
    this.waiters.set(jobId, set);
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
      set.delete(resolveFn);
      if (set.size === 0 && this.waiters.get(jobId) === set) this.waiters.delete(jobId);
    }
  }

  private settle(jobId: string, outcome: Outcome): void {
    const set = this.waiters.get(jobId);
    if (!set) return;
    for (const resolve of set) resolve(outcome);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.events?.close();
  }
}

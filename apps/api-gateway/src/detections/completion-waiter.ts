import { ArgusStore, type JobEvent, JobEvents, type JobListener } from '@argus/broker';
import type { WorkOutcome } from '@argus/contracts';
import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';

/** A job's end, listened for from the moment listen() was called. */
export interface PendingEnd {
  /** Waits up to `ms` more for the end; null on timeout. Stops listening either way. */
  until(ms: number): Promise<WorkOutcome | null>;
  /** Stops listening without waiting. */
  cancel(): void;
}

export type { JobEvent, JobListener };

/**
 * The gateway's side of the one completion channel (JobEvents: one subscriber connection per
 * process, whatever the number of models or waiting requests): `wait` on submissions, and the
 * source of Server-Sent Events and GraphQL subscriptions.
 */
@Injectable()
export class CompletionWaiter implements OnModuleInit {
  private readonly logger = new Logger(CompletionWaiter.name);
  private waiting = 0;

  constructor(
    private readonly events: JobEvents,
    private readonly store: ArgusStore,
  ) {}

  onModuleInit(): void {
    // Subscribing needs Redis; the gateway starts (and answers 503) without it and listens once it is back.
    this.events.listen().catch((error: unknown) => this.logger.warn({ msg: 'job events: not subscribed yet', error: error instanceof Error ? error.message : String(error) }));
  }

  /** Requests waiting right now (in `wait`). */
  get pending(): number {
    return this.waiting;
  }

  /** Listeners of any kind right now (waits, event streams, subscriptions). */
  get watchers(): number {
    return this.events.watchers;
  }

  /** Calls `listener` with each state change of a job until the returned function is called. */
  watch(jobId: string, listener: JobListener): () => void {
    return this.events.watch(jobId, listener);
  }

  /**
   * Starts listening for a job's end now. Called before the job is added, nothing it does can be
   * missed, so no stored outcome needs checking (one Redis round trip less per upload).
   */
  listen(jobId: string): PendingEnd {
    let ended: WorkOutcome | undefined;
    let resolveFn: ((outcome: WorkOutcome) => void) | undefined;
    const stop = this.watch(jobId, (event) => {
      if (event.state !== 'completed' && event.state !== 'failed') return;
      ended = event.outcome;
      resolveFn?.(event.outcome);
    });
    const until = async (ms: number): Promise<WorkOutcome | null> => {
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
        return await new Promise<WorkOutcome | null>((resolve) => {
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
   * null on timeout. The outcome is stored before the job's end is announced, so checking it after
   * starting to listen closes the gap where the announcement came before we listened.
   */
  async wait(jobId: string, workKey: string, ms: number): Promise<WorkOutcome | null> {
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
}

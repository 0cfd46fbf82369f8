import type { WorkOutcome } from '@argus/contracts';
import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { ArgusKeys } from './keys';

/** A detection job's state change, as gateways hear it. */
export type JobEvent = { state: 'queued' | 'active' } | { state: 'completed' | 'failed'; outcome: WorkOutcome };
export type JobListener = (event: JobEvent) => void;

/** The wire form: job id, state, and the outcome for an end (`{"j":…,"s":…,"o":…}`). */
interface Wire {
  j: string;
  s: 'queued' | 'active' | 'completed' | 'failed';
  o?: WorkOutcome;
}

/** The message announcing that a job moved to queued (a retry) or active. */
export function jobStateMessage(jobId: string, state: 'queued' | 'active'): string {
  return JSON.stringify({ j: jobId, s: state } satisfies Wire);
}

/**
 * The head of a job's end message: endWork.lua appends the outcome JSON and `}`, so the outcome
 * crosses the network once for both the cache and the announcement.
 */
export function jobEndMessageHead(jobId: string, outcome: WorkOutcome): string {
  return `{"j":${JSON.stringify(jobId)},"s":"${outcome.ok ? 'completed' : 'failed'}","o":`;
}

/** Reads a message; null when it is not one of ours. */
export function parseJobEvent(message: string): { jobId: string; event: JobEvent } | null {
  let wire: Partial<Wire>;
  try {
    wire = JSON.parse(message) as Partial<Wire>;
  } catch {
    return null;
  }
  if (typeof wire.j !== 'string') return null;
  if ((wire.s === 'completed' || wire.s === 'failed') && wire.o) return { jobId: wire.j, event: { state: wire.s, outcome: wire.o } };
  if (wire.s === 'queued' || wire.s === 'active') return { jobId: wire.j, event: { state: wire.s } };
  return null;
}

/**
 * The one completion channel: detection jobs' state changes on a Redis pub/sub channel, one
 * subscriber connection per gateway whatever the number of models, fanned out to whoever listens
 * for a job (`wait`, Server-Sent Events, GraphQL subscriptions). Pub/sub keeps nothing for a
 * listener that was not connected: listeners read the stored state first and re-check it now and
 * then, so a message lost while Redis restarts only delays them.
 */
export class JobEvents {
  private readonly logger = new Logger(JobEvents.name);
  private readonly listeners = new Map<string, Set<JobListener>>();
  private subscriber: Redis | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly keys: ArgusKeys,
  ) {}

  /** Announces a state change (workers; the end of a job is announced by endWork.lua itself). */
  async announce(jobId: string, state: 'queued' | 'active'): Promise<void> {
    await this.redis.publish(this.keys.jobEvents(), jobStateMessage(jobId, state));
  }

  /** Starts listening (gateways), on a connection of its own: a subscribed connection does nothing else. */
  async listen(): Promise<void> {
    if (this.subscriber) return;
    const subscriber = this.redis.duplicate({ connectionName: `${this.redis.options.connectionName ?? 'argus'}:events`, maxRetriesPerRequest: null });
    this.subscriber = subscriber;
    subscriber.on('error', () => undefined); // the main connection logs Redis trouble already
    subscriber.on('message', (_channel: string, message: string) => {
      const parsed = parseJobEvent(message);
      if (parsed) this.emit(parsed.jobId, parsed.event);
    });
    await subscriber.subscribe(this.keys.jobEvents());
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

  /** Listeners right now. */
  get watchers(): number {
    let n = 0;
    for (const set of this.listeners.values()) n += set.size;
    return n;
  }

  /** Delivers an event to a job's listeners (exposed for tests of the listeners). */
  emit(jobId: string, event: JobEvent): void {
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

  async close(): Promise<void> {
    this.subscriber?.disconnect();
    this.subscriber = undefined;
  }
}

import { createHash } from 'node:crypto';

/**
 * Every Redis key Argus writes besides BullMQ's own, under one prefix (QUEUE_PREFIX). BullMQ's
 * queues share the prefix: `<prefix>:detect.<model>:*`, `<prefix>:results:*` and so on are theirs.
 */
export class ArgusKeys {
  constructor(readonly prefix: string) {}

  /** Image bytes, keyed by their sha256. */
  image(sha256: string): string {
    return `${this.prefix}:img:${sha256}`;
  }
  /** The set of jobs that still need an image; the bytes are dropped after the last one ends. */
  imageHolders(sha256: string): string {
    return `${this.prefix}:img-holders:${sha256}`;
  }
  /** A request's record until apps/results has persisted it. */
  request(id: string): string {
    return `${this.requestPrefix()}${id}`;
  }
  /** What every request key starts with (scripts read records by id). */
  requestPrefix(): string {
    return `${this.prefix}:req:`;
  }
  /**
   * The ledger of accepted requests whose row is not in Postgres yet (sorted set: request id ->
   * when the reconciler may look at it). Admission enters a request; persisting it removes it.
   */
  unpersisted(): string {
    return `${this.prefix}:unpersisted`;
  }
  /** The stored outcomes, oldest first (sorted set of work keys): bounds the result cache's size. */
  outcomeIndex(): string {
    return `${this.prefix}:outcomes`;
  }
  /** What every outcome key starts with (the end-of-work script trims the cache by work key). */
  outcomePrefix(): string {
    return `${this.prefix}:outcome:`;
  }
  /** The pub/sub channel of job state changes that waiting gateways listen to. */
  jobEvents(): string {
    return `${this.prefix}:job-events`;
  }
  /** Requests waiting for a piece of work (one job serves them all). */
  attached(workKey: string): string {
    return `${this.prefix}:attached:${workKey}`;
  }
  /** The finished outcome of a piece of work (a result, or a failure for a while). */
  outcome(workKey: string): string {
    return `${this.outcomePrefix()}${workKey}`;
  }
  /** Idempotency-Key -> request id, per client. The key is hashed: clients choose its text. */
  idempotency(clientId: string, key: string): string {
    const digest = createHash('sha256').update(key).digest('hex');
    return `${this.prefix}:idem:${clientId}:${digest}`;
  }
  /** Token bucket of one API client (rate limiting). */
  rateLimit(clientId: string): string {
    return `${this.prefix}:rl:${clientId}`;
  }
  /** Hash of `name@version` -> ModelInfo JSON: each version inference processes loaded (see ModelRegistry). */
  modelVersions(): string {
    return `${this.prefix}:model-versions`;
  }
  /** Hash of the operators' wishes for models (unloads, load and reload counts), and the pub/sub channel that announces a change. */
  modelControl(): string {
    return `${this.prefix}:model-control`;
  }
  /**
   * Hash of inference process id -> its heartbeat (models served, expiry). One key for all
   * processes, so listing them is one read, never a scan of the keyspace.
   */
  workers(): string {
    return `${this.prefix}:workers`;
  }
}

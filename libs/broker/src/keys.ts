import { createHash } from 'node:crypto';

/**
 * Every Redis key Argus writes besides BullMQ's own, under one prefix (QUEUE_PREFIX). BullMQ's
 * detection queue shares the prefix, so `<prefix>:detect:*` is its.
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
  /** The stream of finished work that apps/results persists (docs/adr/0011). */
  resultsStream(): string {
    return `${this.prefix}:results:stream`;
  }
  /** Results messages that can never be persisted, each with the reason (a dead-letter stream). */
  resultsDead(): string {
    return `${this.prefix}:results:dead`;
  }
  /** Requests waiting for a piece of work (one job serves them all). */
  attached(workKey: string): string {
    return `${this.prefix}:attached:${workKey}`;
  }
  /** The finished outcome of a piece of work (a result, or a failure for a while). */
  outcome(workKey: string): string {
    return `${this.prefix}:outcome:${workKey}`;
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
  /** Hash of model name -> ModelInfo JSON, published by inference processes. */
  models(): string {
    return `${this.prefix}:models`;
  }
  /**
   * Hash of inference process id -> its heartbeat (models served, expiry). One key for all
   * processes, so listing them is one read, never a scan of the keyspace.
   */
  workers(): string {
    return `${this.prefix}:workers`;
  }
}

import {
  type RequestRecord,
  RequestRecordSchema,
  type WorkOutcome,
} from '@argus/contracts';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { ArgusKeys } from './keys';
import { runScript, scriptPipeline } from './scripts';

export interface RetentionOptions {
  /** How long an outcome answers identical requests. */
  cacheTtlSeconds: number;
  /** How long a deterministic failure (corrupt image) answers identical requests. */
  negativeCacheTtlSeconds: number;
  /** Most outcomes kept at once: the result cache is bounded in entries, not only in time. */
  cacheMaxEntries: number;
  /** Upper bound for image bytes waiting for their job. */
  imageTtlSeconds: number;
  /** How long image bytes stay after their last job. */
  imageRetentionSeconds: number;
  /** How long request records and attachments stay while their request is unfinished. */
  requestTtlSeconds: number;
  /** How long an Idempotency-Key names its request. */
  idempotencyTtlSeconds: number;
  /** How long after admission an unpersisted request is first looked at by the reconciler. */
  reconcileAfterSeconds: number;
}

/** How long a request's record stays in Redis once its row is in Postgres (reads go there). */
export const PERSISTED_RECORD_TTL_SECONDS = 300;

export interface StoredRequest {
  record: RequestRecord;
  jobId?: string;
  /** Answered from the cache at admission. */
  cached: boolean;
  /** The persist job its work's end handed it to, if it has been handed over. */
  handed?: string;
  /** When its client canceled it (ISO-8601), if it did. */
  canceledAt?: string;
}

/** What canceling a request did. */
export type Cancellation =
  | { kind: 'canceled'; at: string; stillAttached: number }
  | { kind: 'already'; at: string }
  | { kind: 'ended' }
  | { kind: 'missing' };

/** What admission decided for a request. */
export type Admission =
  | { kind: 'replay'; requestId: string; fingerprint: string }
  | { kind: 'hit'; outcome: WorkOutcome }
  | { kind: 'miss' };

/** An Idempotency-Key a request claims: whose, the key, and what the request is (to refuse reuse). */
export interface IdempotencyClaim {
  clientId: string;
  key: string;
  fingerprint: string;
}

/** One piece of work to end (see ArgusStore.endWork). */
export interface WorkEnding {
  work: { workKey: string; sha256: string };
  /** The job holding the work's image. */
  holder: string;
  outcome: WorkOutcome;
  remember: boolean | number;
  /** The job-events message head announcing the end. */
  eventHead: string;
}

/** What ending a piece of work handed over: the records of the requests that were attached. */
export interface HandOver {
  records: RequestRecord[];
  /** Attached requests whose records had expired: nothing can be persisted for them. */
  missing: string[];
}

/**
 * Argus's own Redis state: request records, image bytes, outcomes (the result cache), the
 * requests attached to each piece of work, idempotency keys, the ledger of accepted requests not
 * yet persisted. What models are served lives in ModelRegistry.
 */
export class ArgusStore {
  readonly keys: ArgusKeys;

  constructor(
    readonly redis: Redis,
    prefix: string,
    readonly retention: RetentionOptions,
  ) {
    this.keys = new ArgusKeys(prefix);
  }

  /**
   * Admits a request in one round trip and one atomic step (admit.lua): claims its
   * Idempotency-Key if it has one (a key already claimed answers `replay` and nothing else
   * happens), records it, enters it in the ledger, then answers it from the finished outcome of
   * its work (`hit`) or attaches it to the work and holds the image for the job named after it
   * (`miss`: the caller adds or joins that job). Whatever the caller does not finish (it dies
   * before the job is added, say), the reconciler finishes from the ledger.
   */
  async admit(record: RequestRecord, image: Buffer, idempotency?: IdempotencyClaim): Promise<Admission> {
    const reply = (await runScript(
      this.redis,
      'admit',
      [
        this.keys.outcome(record.workKey),
        this.keys.attached(record.workKey),
        this.keys.request(record.id),
        this.keys.image(record.sha256),
        this.keys.imageHolders(record.sha256),
        this.keys.unpersisted(),
        idempotency ? this.keys.idempotency(idempotency.clientId, idempotency.key) : this.keys.request(record.id),
      ],
      [
        record.id,
        JSON.stringify(record),
        this.retention.requestTtlSeconds,
        image,
        this.retention.imageTtlSeconds,
        Date.parse(record.createdAt) + this.retention.reconcileAfterSeconds * 1000,
        idempotency?.fingerprint ?? '',
        this.retention.idempotencyTtlSeconds,
      ],
    )) as string[];
    switch (reply[0]) {
      case 'replay':
        return { kind: 'replay', requestId: String(reply[1]), fingerprint: String(reply[2] ?? '') };
      case 'hit':
        return { kind: 'hit', outcome: parseOutcome(String(reply[1])) };
      default:
        return { kind: 'miss' };
    }
  }

  /**
   * Claims a batch's Idempotency-Key for `batchId` (for IDEMPOTENCY_TTL_SECONDS), or answers the
   * batch and request fingerprint that claimed it first.
   */
  async claimBatch(claim: IdempotencyClaim, batchId: string): Promise<{ claimed: boolean; batchId: string; fingerprint: string }> {
    const key = this.keys.idempotency(claim.clientId, `batch:${claim.key}`);
    for (;;) {
      const set = await this.redis.set(key, JSON.stringify({ batchId, fingerprint: claim.fingerprint }), 'EX', this.retention.idempotencyTtlSeconds, 'NX');
      if (set === 'OK') return { claimed: true, batchId, fingerprint: claim.fingerprint };
      const existing = await this.redis.get(key);
      // Expired between the two commands: claim it again.
      if (existing) return { claimed: false, ...(JSON.parse(existing) as { batchId: string; fingerprint: string }) };
    }
  }

  /** Releases a job's hold on image bytes. */
  async releaseImage(sha256: string, holder: string): Promise<void> {
    await runScript(this.redis, 'releaseImage', [this.keys.image(sha256), this.keys.imageHolders(sha256)], [holder, this.retention.imageRetentionSeconds]);
  }

  /**
   * What a worker needs before it runs a job, in one round trip: the work's outcome if another
   * job finished it meanwhile, and the image bytes (null once they have expired). `announce`
   * (a job-events message) goes out in the same round trip.
   */
  async jobInputs(workKey: string, sha256: string, announce?: string): Promise<{ outcome: WorkOutcome | null; image: Buffer | null }> {
    const pipeline = this.redis.pipeline().mgetBuffer(this.keys.outcome(workKey), this.keys.image(sha256));
    if (announce !== undefined) pipeline.publish(this.keys.jobEvents(), announce);
    const replies = (await pipeline.exec()) ?? [];
    const [error, values] = replies[0] ?? [new Error('no reply'), null];
    if (error) throw error;
    const [outcome, image] = values as (Buffer | null)[];
    return { outcome: outcome ? parseOutcome(outcome.toString('utf8')) : null, image: image ?? null };
  }

  /** The image bytes, or null once they have expired. */
  getImage(sha256: string): Promise<Buffer | null> {
    return this.redis.getBuffer(this.keys.image(sha256));
  }

  /**
   * Ends a piece of work, atomically (endWork.lua): stores its outcome when `remember` says so
   * (true: for CACHE_TTL_SECONDS, or NEGATIVE_CACHE_TTL_SECONDS for a failure; a number of seconds;
   * false: not at all, e.g. a missed deadline says nothing about the work), releases the job's hold
   * on the image, announces the end to waiting gateways (`eventHead` + outcome), and takes every
   * request attached to the work, each marked as handed to `persistJobId`, which the caller adds
   * next. Safe to repeat: a second call finds nobody attached.
   */
  async endWork(
    work: { workKey: string; sha256: string },
    holder: string,
    outcome: WorkOutcome,
    remember: boolean | number,
    persistJobId: string,
    eventHead: string,
  ): Promise<HandOver> {
    const [handed] = await this.endWorks([{ work, holder, outcome, remember, eventHead }], persistJobId);
    if (!handed) throw new Error('endWork: no reply');
    return handed;
  }

  /**
   * Ends several pieces of work in one round trip: one endWork script each (each atomic, as in
   * endWork), all in one pipeline, their requests all marked as handed to the same persist job.
   * Replies come in the order of `ends`. A script that fails rejects the whole call (the works
   * whose scripts ran are safe to end again: a second run finds nobody attached).
   */
  async endWorks(ends: readonly WorkEnding[], persistJobId: string): Promise<HandOver[]> {
    if (ends.length === 0) return [];
    const pipeline = scriptPipeline(this.redis);
    const now = Date.now();
    for (const { work, holder, outcome, remember, eventHead } of ends) {
      const ttl = remember === false ? 0 : remember === true ? (outcome.ok ? this.retention.cacheTtlSeconds : this.retention.negativeCacheTtlSeconds) : remember;
      pipeline.add(
        'endWork',
        [this.keys.outcome(work.workKey), this.keys.image(work.sha256), this.keys.imageHolders(work.sha256), this.keys.attached(work.workKey), this.keys.outcomeIndex()],
        [
          JSON.stringify(outcome),
          ttl,
          holder,
          this.retention.imageRetentionSeconds,
          this.keys.requestPrefix(),
          persistJobId,
          this.retention.cacheMaxEntries,
          this.keys.outcomePrefix(),
          now,
          this.keys.jobEvents(),
          eventHead,
        ],
      );
    }
    const replies = (await pipeline.exec()) ?? [];
    return ends.map((_, i) => {
      const [error, reply] = replies[i] ?? [new Error('endWork: no reply'), null];
      if (error) throw error;
      return parseHandOver(reply as [string, string]);
    });
  }

  /** The cached outcome of a piece of work, if any. */
  async getOutcome(workKey: string): Promise<WorkOutcome | null> {
    const raw = await this.redis.get(this.keys.outcome(workKey));
    return raw ? parseOutcome(raw) : null;
  }

  /** Notes which job serves a request (for status reads before the result is persisted). */
  async setRequestJob(requestId: string, jobId: string): Promise<void> {
    await this.redis.hset(this.keys.request(requestId), 'jobId', jobId);
  }

  /** A request's record as the gateway stored it, or null. */
  async getRequest(id: string): Promise<StoredRequest | null> {
    const [record, jobId, cached, handed, canceledAt] = await this.redis.hmget(this.keys.request(id), 'record', 'jobId', 'cached', 'handed', 'canceled');
    if (!record) return null;
    return {
      record: RequestRecordSchema.parse(JSON.parse(record)),
      ...(jobId ? { jobId } : {}),
      cached: cached === '1',
      ...(handed ? { handed } : {}),
      ...(canceledAt ? { canceledAt } : {}),
    };
  }

  /**
   * Cancels a request still waiting for its work, atomically with the end of work (cancel.lua):
   * it leaves the work's attached set and is marked canceled and handed to `persistJobId` (which
   * the caller adds next, with the cancellation). `stillAttached` says whether other requests
   * still need the work (then its job stays).
   */
  async cancel(record: Pick<RequestRecord, 'id' | 'workKey'>, persistJobId: string, at = new Date()): Promise<Cancellation> {
    const when = at.toISOString();
    const reply = (await runScript(
      this.redis,
      'cancel',
      [this.keys.attached(record.workKey), this.keys.request(record.id), this.keys.outcome(record.workKey)],
      [record.id, persistJobId, when],
    )) as [string, (string | number)?];
    switch (reply[0]) {
      case 'canceled':
        return { kind: 'canceled', at: when, stillAttached: Number(reply[1] ?? 0) };
      case 'already':
        return { kind: 'already', at: String(reply[1]) };
      case 'missing':
        return { kind: 'missing' };
      default:
        return { kind: 'ended' };
    }
  }

  /**
   * Erases what Redis keeps of a finished request (erase.lua): the cached outcome of its work,
   * its record, and its image bytes unless a waiting job still holds them.
   */
  async erase(record: Pick<RequestRecord, 'id' | 'workKey' | 'sha256'>): Promise<{ outcome: boolean; image: boolean }> {
    const [outcome, image] = (await runScript(
      this.redis,
      'erase',
      [this.keys.outcome(record.workKey), this.keys.outcomeIndex(), this.keys.image(record.sha256), this.keys.imageHolders(record.sha256), this.keys.request(record.id)],
      [record.workKey],
    )) as [number, number];
    return { outcome: outcome === 1, image: image === 1 };
  }

  /** Whether a request is in the ledger (accepted, its row not written yet). */
  async unpersisted(id: string): Promise<boolean> {
    return (await this.redis.zscore(this.keys.unpersisted(), id)) !== null;
  }

  /** Requests in the ledger whose time to be looked at has come (oldest first), at most `limit`. */
  dueUnpersisted(now: number, limit: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.unpersisted(), '-inf', now, 'LIMIT', 0, limit);
  }

  /** Requests in the ledger now (accepted, not yet persisted). */
  unpersistedCount(): Promise<number> {
    return this.redis.zcard(this.keys.unpersisted());
  }

  /** Looks at ledger entries again at `at` (ms): their work is under way, or was just handed over again. */
  async postpone(ids: readonly string[], at: number): Promise<void> {
    if (ids.length === 0) return;
    await this.redis.zadd(this.keys.unpersisted(), 'XX', ...ids.flatMap((id) => [at, id]));
  }

  /**
   * Requests whose rows are in Postgres: out of the ledger, and their records shortened to a few
   * minutes (reads go to Postgres now), so nothing about finished work lingers in Redis.
   */
  async settle(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const pipeline = this.redis.pipeline().zrem(this.keys.unpersisted(), ...ids);
    for (const id of ids) pipeline.expire(this.keys.request(id), PERSISTED_RECORD_TTL_SECONDS);
    const replies = (await pipeline.exec()) ?? [];
    const failed = replies.find(([error]) => error);
    if (failed?.[0]) throw failed[0];
  }

  /**
   * Puts a request back on its work as the job named after it (the reconciler, for a request
   * recorded without a job), holding its image again if the bytes are still there.
   */
  async reattach(record: RequestRecord): Promise<void> {
    const attached = this.keys.attached(record.workKey);
    const holders = this.keys.imageHolders(record.sha256);
    const replies = await this.redis
      .multi()
      .sadd(attached, record.id)
      .expire(attached, this.retention.requestTtlSeconds)
      .hset(this.keys.request(record.id), 'jobId', record.id)
      .sadd(holders, record.id)
      .expire(holders, this.retention.imageTtlSeconds)
      .expire(this.keys.image(record.sha256), this.retention.imageTtlSeconds)
      .exec();
    const failed = replies?.find(([error]) => error);
    if (failed?.[0]) throw failed[0];
  }

  /** Drops a request from the ledger without a row (its record expired: nothing can be persisted). */
  async forget(id: string): Promise<void> {
    await this.redis.zrem(this.keys.unpersisted(), id);
  }
}

/** Outcomes are written by Argus's own scripts only: read them back without re-validating each field on the hot path. */
function parseOutcome(raw: string): WorkOutcome {
  return JSON.parse(raw) as WorkOutcome;
}

/** The endWork script's reply: the attached requests' records (JSON), and the ids of those whose records had expired. */
function parseHandOver(reply: [string, string]): HandOver {
  const records = z.array(z.unknown()).parse(JSON.parse(reply[0]));
  const parsed: RequestRecord[] = [];
  for (const r of records) {
    const record = RequestRecordSchema.safeParse(r);
    if (record.success) parsed.push(record.data);
  }
  return { records: parsed, missing: z.array(z.string()).parse(JSON.parse(reply[1])) };
}

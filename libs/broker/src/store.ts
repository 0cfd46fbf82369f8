import {
  type ErrorInfo,
  type InferenceResult,
  type ModelInfo,
  ModelInfoSchema,
  type RequestRecord,
  RequestRecordSchema,
} from '@argus/contracts';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { ArgusKeys } from './keys';
import { runScript } from './scripts';

/** The finished outcome of a piece of work, as cached under its work key. */
export type Outcome = { ok: true; result: InferenceResult } | { ok: false; error: ErrorInfo };

/** How a job ended a piece of work (see {@link ArgusStore.endWork}). */
export interface WorkEnd {
  jobId: string;
  /** Attempts the job made, this one included. */
  attempts: number;
  outcome: Outcome;
  /** When it failed (failures; default now). */
  failedAt?: string;
}

/** The end's details that travel beside the outcome on the results stream. */
export interface EndMeta {
  workKey: string;
  jobId: string;
  attempts: number;
  failedAt?: string;
}

export interface RetentionOptions {
  /** How long an outcome answers identical requests. */
  cacheTtlSeconds: number;
  /** How long a deterministic failure (corrupt image) answers identical requests. */
  negativeCacheTtlSeconds: number;
  /** Upper bound for image bytes waiting for their job. */
  imageTtlSeconds: number;
  /** How long image bytes stay after their last job. */
  imageRetentionSeconds: number;
  /** How long request records and attachments stay. */
  requestTtlSeconds: number;
}

export interface StoredRequest {
  record: RequestRecord;
  jobId?: string;
  /** Answered from the cache at admission. */
  cached: boolean;
}

/**
 * Argus's own Redis state: request records, image bytes, outcomes (the result cache), the
 * requests attached to each piece of work, idempotency keys and the model registry.
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
   * Records an accepted request, in one round trip. Returns the outcome at once if the work is
   * already done (and puts the hit on the results stream, so its row is persisted); otherwise
   * attaches the request to the work (its outcome will be persisted for it), notes the job named
   * after the request as the request's job, and holds the image for that job. A request that
   * joins identical work in flight instead says so with setRequestJob and releases its hold.
   */
  async admit(record: RequestRecord, image: Buffer): Promise<Outcome | null> {
    const reply = await runScript(
      this.redis,
      'argusAdmit',
      [
        this.keys.outcome(record.workKey),
        this.keys.attached(record.workKey),
        this.keys.request(record.id),
        this.keys.image(record.sha256),
        this.keys.imageHolders(record.sha256),
        this.keys.resultsStream(),
      ],
      [
        record.id,
        JSON.stringify(record),
        this.retention.requestTtlSeconds,
        this.retention.requestTtlSeconds,
        image,
        this.retention.imageTtlSeconds,
        record.workKey,
      ],
    );
    return typeof reply === 'string' ? parseOutcome(reply) : null;
  }

  /** Releases a job's hold on image bytes. */
  async releaseImage(sha256: string, holder: string): Promise<void> {
    await runScript(
      this.redis,
      'argusReleaseImage',
      [this.keys.image(sha256), this.keys.imageHolders(sha256)],
      [holder, this.retention.imageRetentionSeconds],
    );
  }

  /**
   * What a worker needs before it runs a job, in one round trip: the work's outcome if another
   * job finished it meanwhile, and the image bytes (null once they have expired).
   */
  async jobInputs(workKey: string, sha256: string): Promise<{ outcome: Outcome | null; image: Buffer | null }> {
    const [outcome, image] = await this.redis.mgetBuffer(this.keys.outcome(workKey), this.keys.image(sha256));
    return { outcome: outcome ? parseOutcome(outcome.toString('utf8')) : null, image: image ?? null };
  }

  /** The image bytes, or null once they have expired. */
  getImage(sha256: string): Promise<Buffer | null> {
    return this.redis.getBuffer(this.keys.image(sha256));
  }

  /**
   * Ends a piece of work, atomically: stores its outcome when `remember` says so (true: for
   * CACHE_TTL_SECONDS, or NEGATIVE_CACHE_TTL_SECONDS for a failure; a number of seconds; false:
   * not at all, e.g. a missed deadline says nothing about the work), releases the job's hold on
   * the image, and hands every request attached to the work to apps/results in one message on
   * the results stream. Safe to repeat: a second call finds no request attached and sends
   * nothing. Returns how many requests were handed over.
   */
  async endWork(work: { workKey: string; sha256: string }, holder: string, end: WorkEnd, remember: boolean | number): Promise<number> {
    const { outcome } = end;
    const ttl = remember === false ? 0 : remember === true ? (outcome.ok ? this.retention.cacheTtlSeconds : this.retention.negativeCacheTtlSeconds) : remember;
    const meta: EndMeta = { workKey: work.workKey, jobId: end.jobId, attempts: end.attempts, ...(outcome.ok ? {} : { failedAt: end.failedAt ?? new Date().toISOString() }) };
    const reply = await runScript(
      this.redis,
      'argusEndWork',
      [
        this.keys.outcome(work.workKey),
        this.keys.image(work.sha256),
        this.keys.imageHolders(work.sha256),
        this.keys.attached(work.workKey),
        this.keys.resultsStream(),
      ],
      [JSON.stringify(outcome), ttl, holder, this.retention.imageRetentionSeconds, outcome.ok ? 'completed' : 'failed', JSON.stringify(meta), this.keys.requestPrefix()],
    );
    return Number(reply);
  }

  /** The cached outcome of a piece of work, if any. */
  async getOutcome(workKey: string): Promise<Outcome | null> {
    const raw = await this.redis.get(this.keys.outcome(workKey));
    return raw ? parseOutcome(raw) : null;
  }

  /** Notes which job serves a request (for status reads before the result is persisted). */
  async setRequestJob(requestId: string, jobId: string): Promise<void> {
    await this.redis.hset(this.keys.request(requestId), 'jobId', jobId);
  }

  /** A request's record as the gateway stored it, or null. */
  async getRequest(id: string): Promise<StoredRequest | null> {
    const [record, jobId, cached] = await this.redis.hmget(this.keys.request(id), 'record', 'jobId', 'cached');
    if (!record) return null;
    return { record: RequestRecordSchema.parse(JSON.parse(record)), ...(jobId ? { jobId } : {}), cached: cached === '1' };
  }

  /**
   * Claims an Idempotency-Key. Returns null when this request got it, else the request that
   * holds it and the fingerprint (work key) it was made with.
   */
  async claimIdempotencyKey(
    clientId: string,
    key: string,
    requestId: string,
    fingerprint: string,
  ): Promise<{ requestId: string; fingerprint: string } | null> {
    const reply = await runScript(
      this.redis,
      'argusClaimIdempotency',
      [this.keys.idempotency(clientId, key)],
      [requestId, fingerprint, this.retention.requestTtlSeconds],
    );
    if (Array.isArray(reply) && typeof reply[0] === 'string') {
      return { requestId: reply[0], fingerprint: String(reply[1] ?? '') };
    }
    return null;
  }

  /**
   * Publishes the models an inference process serves, with a heartbeat that counts for
   * `heartbeatTtlSeconds`; drops the heartbeats of processes that stopped beating long ago, so
   * the registry holds live processes and the recently dead only.
   */
  async publishModels(workerId: string, infos: readonly ModelInfo[], heartbeatTtlSeconds: number): Promise<void> {
    const now = Date.now();
    const heartbeat: WorkerHeartbeat = {
      models: infos.map((i) => ({ name: i.name, version: i.version, provider: i.provider })),
      at: new Date(now).toISOString(),
      expiresAt: now + heartbeatTtlSeconds * 1000,
    };
    const pipeline = this.redis.pipeline();
    for (const info of infos) pipeline.hset(this.keys.models(), info.name, JSON.stringify(info));
    pipeline.hset(this.keys.workers(), workerId, JSON.stringify(heartbeat));
    await pipeline.exec();
    const dead = (await this.heartbeats()).filter((w) => w.expiresAt < now - DEAD_WORKER_KEPT_MS).map((w) => w.id);
    if (dead.length > 0) await this.redis.hdel(this.keys.workers(), ...dead);
  }

  /** Removes a process's heartbeat (on shutdown). */
  async withdrawWorker(workerId: string): Promise<void> {
    await this.redis.hdel(this.keys.workers(), workerId);
  }

  /** The models published by inference processes, by name. */
  async listModels(): Promise<ModelInfo[]> {
    const all = await this.redis.hgetall(this.keys.models());
    const infos: ModelInfo[] = [];
    for (const value of Object.values(all)) {
      const parsed = ModelInfoSchema.safeParse(JSON.parse(value));
      if (parsed.success) infos.push(parsed.data);
    }
    return infos.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Live inference processes (heartbeats not yet expired), with the models each serves. One read. */
  async liveWorkers(): Promise<(WorkerHeartbeat & { id: string })[]> {
    const now = Date.now();
    return (await this.heartbeats()).filter((w) => w.expiresAt >= now);
  }

  private async heartbeats(): Promise<(WorkerHeartbeat & { id: string })[]> {
    const all = await this.redis.hgetall(this.keys.workers());
    const out: (WorkerHeartbeat & { id: string })[] = [];
    for (const [id, value] of Object.entries(all)) {
      const parsed = WorkerHeartbeatSchema.safeParse(safeJson(value));
      if (parsed.success) out.push({ id, ...parsed.data });
    }
    return out;
  }
}

/** How long the heartbeat of a process that stopped is kept (for diagnosis) before it is dropped. */
const DEAD_WORKER_KEPT_MS = 10 * 60 * 1000;

const WorkerHeartbeatSchema = z.object({
  models: z.array(z.object({ name: z.string(), version: z.string(), provider: z.string() })),
  at: z.string(),
  expiresAt: z.number(),
});
/** What an inference process says about itself every few seconds. */
export type WorkerHeartbeat = z.infer<typeof WorkerHeartbeatSchema>;

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function parseOutcome(raw: string): Outcome {
  return JSON.parse(raw) as Outcome;
}

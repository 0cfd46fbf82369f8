import { type RequestRecord, RequestRecordSchema, type ResultJob, ResultJobSchema } from '@argus/contracts';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { ArgusKeys } from './keys';
import type { Outcome } from './store';

/** Exponential backoff (attempt 1 waits `baseMs`) that never waits longer than `capMs`. */
export function cappedBackoff(attempt: number, baseMs: number, capMs = 10000): number {
  return Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
}

/** The consumer group of apps/results on the results stream. */
export const RESULTS_GROUP = 'persist';

/** One message of the results stream: the finished work and the requests to persist it for. */
export interface ResultsEntry {
  /** The stream entry's id. */
  id: string;
  message: ResultJob;
  /** The records of the requests attached to the work when it ended (a cache hit: its own). */
  records: RequestRecord[];
  /** Requests that were attached but whose records had expired: nothing can be persisted for them. */
  missing: string[];
  /** How many times the entry was delivered to a consumer (1 on the first read). */
  deliveries: number;
  /** The entry as stored (for the dead-letter stream). */
  fields: Record<string, string>;
}

/** An entry that can never be persisted (not written by Argus's scripts, or damaged). */
export interface UnreadableEntry {
  id: string;
  reason: string;
  fields: Record<string, string>;
}

/** A stream entry's flat [field, value, ...] list as a record. */
function fieldsOf(flat: readonly string[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i] as string] = flat[i + 1] as string;
  return fields;
}

const RecordsSchema = z.array(RequestRecordSchema);
const MetaSchema = z.object({ workKey: z.string(), jobId: z.string(), attempts: z.number().int(), failedAt: z.string().optional() });
const MissingSchema = z.array(z.string());
const OutcomeSchema = z.union([
  z.object({ ok: z.literal(true), result: z.unknown() }),
  z.object({ ok: z.literal(false), error: z.unknown() }),
]);

/**
 * Reads one entry as written by argusAdmit (kind cached: the outcome and the hit's record) or
 * argusEndWork (kind completed or failed: the end's meta, the outcome and the attached requests'
 * records) as a results message. Pure; anything else is unreadable, with the reason.
 */
export function parseResultsEntry(id: string, flat: readonly string[], deliveries = 1): ResultsEntry | UnreadableEntry {
  const fields = fieldsOf(flat);
  try {
    const records = RecordsSchema.parse(JSON.parse(fields['records'] ?? 'null'));
    const outcome = OutcomeSchema.parse(JSON.parse(fields['outcome'] ?? 'null')) as Outcome;
    let message: ResultJob;
    let missing: string[] = [];
    if (fields['kind'] === 'cached') {
      const record = records[0];
      if (!record || records.length !== 1) throw new Error(`a cache hit names ${records.length} requests, not 1`);
      message = ResultJobSchema.parse({
        kind: 'cached',
        workKey: fields['workKey'],
        requestId: record.id,
        ...(outcome.ok ? { result: outcome.result } : { error: outcome.error }),
      });
    } else {
      const meta = MetaSchema.parse(JSON.parse(fields['meta'] ?? 'null'));
      const kind = outcome.ok ? 'completed' : 'failed';
      if (fields['kind'] !== kind) throw new Error(`the entry says kind ${fields['kind']} but holds a ${kind} outcome`);
      message = ResultJobSchema.parse(
        outcome.ok
          ? { kind, workKey: meta.workKey, jobId: meta.jobId, attempts: meta.attempts, result: outcome.result }
          : { kind, workKey: meta.workKey, jobId: meta.jobId, attempts: meta.attempts, error: outcome.error, failedAt: meta.failedAt },
      );
      missing = MissingSchema.parse(JSON.parse(fields['missing'] ?? '[]'));
    }
    return { id, message, records, missing, deliveries, fields };
  } catch (error) {
    return { id, reason: error instanceof Error ? error.message.slice(0, 500) : String(error), fields };
  }
}

/** Whether a parsed entry is readable. */
export function isResultsEntry(entry: ResultsEntry | UnreadableEntry): entry is ResultsEntry {
  return 'message' in entry;
}

/** The results stream's backlog, for metrics and for waiting until everything is persisted. */
export interface ResultsBacklog {
  /** Entries not yet read by any consumer. */
  waiting: number;
  /** Entries read but not yet acknowledged (being persisted, or waiting for Postgres). */
  active: number;
  /** Entries set aside as never persistable (the dead-letter stream). */
  dead: number;
}

/** Counts the results stream's backlog in one round trip. */
export async function resultsBacklog(redis: Redis, keys: ArgusKeys): Promise<ResultsBacklog> {
  const stream = keys.resultsStream();
  const replies = (await redis
    .pipeline()
    .xlen(stream)
    .xpending(stream, RESULTS_GROUP)
    .xlen(keys.resultsDead())
    .exec()) ?? [];
  const [len, pending, dead] = replies;
  if (len?.[0]) throw len[0];
  if (dead?.[0]) throw dead[0];
  // Before apps/results first ran there is no group: everything in the stream is waiting.
  const active = pending && !pending[0] && Array.isArray(pending[1]) ? Number(pending[1][0] ?? 0) : 0;
  const total = Number(len?.[1] ?? 0);
  return { waiting: Math.max(0, total - active), active, dead: Number(dead?.[1] ?? 0) };
}

/**
 * apps/results' side of the results stream: a consumer in the group that reads entries (its own
 * unacknowledged ones first), acknowledges and deletes what it persisted, sets aside what can
 * never be persisted, and takes over entries a vanished consumer left behind. Uses its own
 * connection: reads block it.
 */
export class ResultsStreamConsumer {
  constructor(
    private readonly redis: Redis,
    private readonly keys: ArgusKeys,
    /** This consumer's name in the group; unique per process. */
    readonly name: string,
  ) {}

  /** Creates the group if there is none; it starts at the stream's beginning, so nothing written before is skipped. */
  async ensureGroup(): Promise<void> {
    try {
      await this.redis.xgroup('CREATE', this.keys.resultsStream(), RESULTS_GROUP, '0', 'MKSTREAM');
    } catch (error) {
      if (!(error instanceof Error && error.message.includes('BUSYGROUP'))) throw error;
    }
  }

  /**
   * Up to `count` entries: with `own`, those delivered to this consumer earlier and not yet
   * acknowledged (answered at once, empty when there are none); else new ones, waiting up to
   * `blockMs` for the first.
   */
  async read(count: number, blockMs: number, own: boolean): Promise<(ResultsEntry | UnreadableEntry)[]> {
    const stream = this.keys.resultsStream();
    const reply = (await this.redis.xreadgroup(
      'GROUP',
      RESULTS_GROUP,
      this.name,
      'COUNT',
      count,
      'BLOCK',
      blockMs,
      'STREAMS',
      stream,
      own ? '0' : '>',
    )) as [string, [string, string[] | null][]][] | null;
    const entries = reply?.[0]?.[1] ?? [];
    // A pending entry deleted meanwhile comes back with no fields: nothing is left to persist.
    const gone = entries.filter(([, fields]) => fields === null).map(([id]) => id);
    if (gone.length > 0) await this.ack(gone);
    const live = entries.filter((e): e is [string, string[]] => e[1] !== null);
    const deliveries = own ? await this.deliveries(live.map(([id]) => id)) : new Map<string, number>();
    return live.map(([id, fields]) => parseResultsEntry(id, fields, deliveries.get(id) ?? 1));
  }

  /** Acknowledges and deletes entries (persisted, or set aside): the stream holds only unfinished work. */
  async ack(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const stream = this.keys.resultsStream();
    const replies = await this.redis.multi().xack(stream, RESULTS_GROUP, ...ids).xdel(stream, ...ids).exec();
    const failed = replies?.find(([error]) => error);
    if (failed?.[0]) throw failed[0];
  }

  /** Moves an entry that can never be persisted to the dead-letter stream, with the reason. */
  async deadLetter(id: string, reason: string, fields: Record<string, string>): Promise<void> {
    const stream = this.keys.resultsStream();
    const replies = await this.redis
      .multi()
      .xadd(this.keys.resultsDead(), '*', 'entry', id, 'reason', reason, ...Object.entries(fields).flat())
      .xack(stream, RESULTS_GROUP, id)
      .xdel(stream, id)
      .exec();
    const failed = replies?.find(([error]) => error);
    if (failed?.[0]) throw failed[0];
  }

  /**
   * Takes over entries that another consumer read but has not acknowledged for `minIdleMs` (its
   * process died); they become this consumer's own and come back from read(own). Returns how many.
   */
  async claimAbandoned(minIdleMs: number, count = 100): Promise<number> {
    const reply = (await this.redis.xautoclaim(this.keys.resultsStream(), RESULTS_GROUP, this.name, minIdleMs, '0-0', 'COUNT', count, 'JUSTID')) as [
      string,
      string[],
    ];
    return reply[1]?.length ?? 0;
  }

  private async deliveries(ids: string[]): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    if (ids.length === 0) return counts;
    const first = ids[0] as string;
    const last = ids[ids.length - 1] as string;
    const pending = (await this.redis.xpending(this.keys.resultsStream(), RESULTS_GROUP, first, last, ids.length, this.name)) as [string, string, number, number][];
    for (const [id, , , times] of pending) counts.set(id, Number(times));
    return counts;
  }
}

/** A results message set aside as never persistable. */
export interface DeadLetter {
  /** Its id in the dead-letter stream. */
  id: string;
  /** Its id when it was on the results stream. */
  entry: string;
  reason: string;
  /** The message as it was on the results stream. */
  fields: Record<string, string>;
}

/** The oldest `count` dead letters. */
export async function listDeadLetters(redis: Redis, keys: ArgusKeys, count = 100, from = '-', to = '+'): Promise<DeadLetter[]> {
  const raw = await redis.xrange(keys.resultsDead(), from, to, 'COUNT', count);
  return raw.map(([id, flat]) => {
    const { entry = '', reason = '', ...message } = fieldsOf(flat);
    return { id, entry, reason, fields: message };
  });
}

/**
 * Puts dead letters back on the results stream (as new messages) for apps/results to try again,
 * e.g. after fixing what made them fail; persistence is idempotent. Returns how many went back.
 */
export async function retryDeadLetters(redis: Redis, keys: ArgusKeys, ids: readonly string[] | 'all'): Promise<number> {
  const chosen: DeadLetter[] = [];
  if (ids === 'all') chosen.push(...(await listDeadLetters(redis, keys, 10_000)));
  else for (const id of ids) chosen.push(...(await listDeadLetters(redis, keys, 1, id, id)));
  for (const letter of chosen) {
    const replies = await redis
      .multi()
      .xadd(keys.resultsStream(), '*', ...Object.entries(letter.fields).flat())
      .xdel(keys.resultsDead(), letter.id)
      .exec();
    const failed = replies?.find(([error]) => error);
    if (failed?.[0]) throw failed[0];
  }
  return chosen.length;
}

import { hashApiKey, managedApiKeyText } from '@argus/config';
import {
  API_KEY_SCOPES,
  type ApiKeyDirectory,
  type ApiKeyGrant,
  type ApiKeyScope,
  isApiKeyScope,
  KEY_HASH_PREFIX_LENGTH,
  type Priority,
  PRIORITIES,
  PrioritySchema,
} from '@argus/contracts';
import { Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { DataSource, IsNull } from 'typeorm';
import { ApiKeyEntity } from './api-key.entity';

/** What `create` needs; priorities default to all, the rate limit to the gateway's. */
export interface NewApiKey {
  name: string;
  priorities?: readonly Priority[];
  rateLimit?: { perSecond: number; burst: number } | null;
  /** Scopes beyond its own data (default none). */
  scopes?: readonly ApiKeyScope[];
}

/** A key as listed (never its text, which is not stored). */
export interface ApiKeySummary {
  id: string;
  name: string;
  priorities: Priority[];
  rateLimit: { perSecond: number; burst: number } | null;
  scopes: ApiKeyScope[];
  createdAt: string;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

const NAME = /^[\w .@-]{1,100}$/;
/** How often last_used_at is written for a key in use (not on every verification). */
const TOUCH_EVERY = "interval '1 minute'";

/**
 * API keys managed in Postgres (text `argus_<id>_<secret>`; the id is public: logs, rows): created with a random secret shown once, stored as sha256, listed,
 * revoked, and verified for the gateway (by hash, over RPC). Keys have 256 random bits, so a plain
 * sha256 is as strong as a slow hash here and costs microseconds per lookup (docs/adr/0005).
 */
@Injectable()
export class ApiKeysService {
  private readonly logger = new Logger(ApiKeysService.name);

  constructor(private readonly dataSource: DataSource) {}

  /** Creates a key; returns its text (the only time it exists outside the client) and summary. */
  async create(request: NewApiKey): Promise<{ key: string; summary: ApiKeySummary }> {
    const name = request.name.trim();
    if (!NAME.test(name)) throw new Error('name: 1 to 100 letters, digits, spaces or . _ @ -');
    const priorities = [...new Set(request.priorities ?? PRIORITIES)].map((p) => PrioritySchema.parse(p));
    if (priorities.length === 0) throw new Error('priorities: at least one of high, normal, low');
    const rateLimit = request.rateLimit ?? null;
    if (rateLimit && (!(rateLimit.perSecond >= 0) || !Number.isInteger(rateLimit.burst) || rateLimit.burst < 1)) {
      throw new Error('rate limit: requests per second >= 0 and a whole burst >= 1');
    }
    const scopes = [...new Set(request.scopes ?? [])];
    const unknownScope = scopes.find((s) => !isApiKeyScope(s));
    if (unknownScope !== undefined) throw new Error(`scopes: unknown scope "${unknownScope}" (known: ${API_KEY_SCOPES.join(', ')})`);
    const id = randomBytes(6).toString('hex');
    const key = managedApiKeyText(id, randomBytes(32));
    const entity = this.repository().create({
      id,
      name,
      keySha256: hashApiKey(key),
      priorities: PRIORITIES.filter((p) => priorities.includes(p)),
      ratePerSecond: rateLimit?.perSecond ?? null,
      rateBurst: rateLimit?.burst ?? null,
      scopes,
      revokedAt: null,
      lastUsedAt: null,
    });
    const saved = await this.repository().save(entity);
    return { key, summary: summarise(saved) };
  }

  /** Keys, newest first; revoked ones only when asked. */
  async list(includeRevoked = false): Promise<ApiKeySummary[]> {
    const rows = await this.repository().find({ where: includeRevoked ? {} : { revokedAt: IsNull() }, order: { createdAt: 'DESC' } });
    return rows.map(summarise);
  }

  /** Revokes a key by id; false when there is no such active key. Gateways notice within API_KEY_CACHE_SECONDS. */
  async revoke(id: string): Promise<boolean> {
    const result = await this.repository().update({ id, revokedAt: IsNull() }, { revokedAt: new Date() });
    return (result.affected ?? 0) > 0;
  }

  /** The grant of an active key by its sha256, or null. Notes when the key was last used. */
  async verify(sha256: string): Promise<ApiKeyGrant | null> {
    if (!/^[0-9a-f]{64}$/.test(sha256)) return null;
    const row = await this.repository().findOneBy({ keySha256: sha256, revokedAt: IsNull() });
    if (!row) return null;
    this.dataSource
      .query(
        `UPDATE ${this.table()} SET "last_used_at" = now() WHERE "id" = $1 AND ("last_used_at" IS NULL OR "last_used_at" < now() - ${TOUCH_EVERY})`,
        [row.id],
      )
      .catch((error: unknown) => this.logger.warn({ msg: 'could not note last use of an API key', keyId: row.id, error: String(error) }));
    const summary = summarise(row);
    return { clientId: `key:${row.id}`, name: row.name, priorities: summary.priorities, rateLimit: summary.rateLimit, scopes: summary.scopes };
  }

  /** The directory of active keys for the gateway: id -> the start of its sha256 (never the whole hash). */
  async directory(): Promise<ApiKeyDirectory> {
    const rows = (await this.dataSource.query(`SELECT "id", left("key_sha256", $1) AS "prefix" FROM ${this.table()} WHERE "revoked_at" IS NULL`, [
      KEY_HASH_PREFIX_LENGTH,
    ])) as { id: string; prefix: string }[];
    return { keys: Object.fromEntries(rows.map((r) => [r.id, r.prefix])) };
  }

  private repository() {
    return this.dataSource.getRepository(ApiKeyEntity);
  }

  private table(): string {
    const schema = (this.dataSource.options as { schema?: string }).schema ?? 'public';
    return `"${schema}"."api_keys"`;
  }
}

function summarise(row: ApiKeyEntity): ApiKeySummary {
  return {
    id: row.id,
    name: row.name,
    priorities: row.priorities.filter((p): p is Priority => PrioritySchema.safeParse(p).success),
    rateLimit: row.ratePerSecond !== null && row.rateBurst !== null ? { perSecond: row.ratePerSecond, burst: row.rateBurst } : null,
    scopes: (row.scopes ?? []).filter(isApiKeyScope),
    createdAt: row.createdAt.toISOString(),
    revokedAt: row.revokedAt?.toISOString() ?? null,
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
  };
}

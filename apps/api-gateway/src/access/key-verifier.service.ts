import { ARGUS_CONFIG, type ArgusConfig, hashApiKey, isManagedApiKey } from '@argus/config';
import { type ApiKeyGrant, PRIORITIES } from '@argus/contracts';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { ApiError } from '../errors/api-error';
import { ResultsClient } from '../results-client/results.client';

/** A cached answer about one key hash (a grant, or null for "no such key"). */
interface Entry {
  grant: ApiKeyGrant | null;
  expiresAt: number;
}

/** Entries kept at most; the oldest go first (Map keeps insertion order). */
const MAX_ENTRIES = 10_000;
/** An unknown key is remembered briefly, so a client hammering with a wrong key costs no lookups. */
const NEGATIVE_TTL_MS = 5000;

/**
 * Decides who a presented API key belongs to. Keys from API_KEYS are checked in memory (by sha256).
 * Keys managed in Postgres are asked of apps/results (the gateway never touches Postgres) and the
 * answer is cached for API_KEY_CACHE_SECONDS, so revoking one takes effect within that time and a
 * busy key costs one lookup per period. While apps/results does not answer, a key it confirmed
 * before is still accepted (its entry, even expired); a key never seen gets 503, not 401.
 */
@Injectable()
export class KeyVerifier {
  private readonly logger = new Logger(KeyVerifier.name);
  private readonly configured = new Map<string, ApiKeyGrant>();
  private readonly cache = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<ApiKeyGrant | null>>();
  private readonly ttlMs: number;

  constructor(
    @Inject(ARGUS_CONFIG) config: ArgusConfig,
    private readonly results: ResultsClient,
  ) {
    for (const key of config.auth.keys) {
      // Keys from API_KEYS share WEBHOOK_SECRET: without it they cannot ask for webhooks.
      this.configured.set(key.sha256, { clientId: key.id, name: key.id, priorities: [...PRIORITIES], rateLimit: null, scopes: [...key.scopes], webhooks: config.webhooks.secret !== '' });
    }
    this.ttlMs = config.auth.cacheSeconds * 1000;
  }

  /** Keys configured in API_KEYS. */
  get configuredCount(): number {
    return this.configured.size;
  }

  /** The grant of a presented key, or null when it is not a valid key. Throws ApiError(unavailable) when that cannot be known now. */
  async verify(key: string): Promise<ApiKeyGrant | null> {
    const sha256 = hashApiKey(key);
    const configured = this.configured.get(sha256);
    if (configured) return configured;
    // Anything not shaped like a managed key cannot be one: no lookup for junk.
    if (!isManagedApiKey(key)) return null;
    const entry = this.cache.get(sha256);
    if (entry && entry.expiresAt > Date.now()) return entry.grant;
    let pending = this.inflight.get(sha256);
    if (!pending) {
      pending = this.lookup(sha256, entry).finally(() => this.inflight.delete(sha256));
      this.inflight.set(sha256, pending);
    }
    return pending;
  }

  private async lookup(sha256: string, stale: Entry | undefined): Promise<ApiKeyGrant | null> {
    let grant: ApiKeyGrant | null;
    try {
      grant = await this.results.verifyApiKey(sha256);
    } catch (error) {
      if (stale?.grant) {
        this.logger.warn({ msg: 'apps/results did not answer; accepting a key it confirmed before', clientId: stale.grant.clientId, error: messageOf(error) });
        return stale.grant;
      }
      this.logger.warn({ msg: 'apps/results did not answer; cannot verify an API key', error: messageOf(error) });
      throw new ApiError('unavailable', 'API keys cannot be verified right now; retry shortly', { 'Retry-After': '2' });
    }
    this.cache.delete(sha256);
    this.cache.set(sha256, { grant, expiresAt: Date.now() + (grant ? this.ttlMs : Math.min(this.ttlMs, NEGATIVE_TTL_MS)) });
    if (this.cache.size > MAX_ENTRIES) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    return grant;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

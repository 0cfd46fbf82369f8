import { ARGUS_CONFIG, type ArgusConfig, hashApiKey, isManagedApiKey } from '@argus/config';
import { type ApiKeyGrant, KEY_HASH_PREFIX_LENGTH, PRIORITIES } from '@argus/contracts';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError } from '../errors/api-error';
import { ResultsClient } from '../results-client/results.client';

/** A grant apps/results confirmed for one key hash. */
interface Entry {
  keyId: string;
  grant: ApiKeyGrant;
  expiresAt: number;
}

/** Confirmed keys kept at most; the oldest go first (Map keeps insertion order). Only real keys get in. */
const MAX_ENTRIES = 10_000;
/**
 * Fewest milliseconds between two fetches of the key directory, whatever prompts them: keys it
 * does not list (made up, or created a moment ago) wait for the next fetch and share it.
 */
export const DIRECTORY_MIN_INTERVAL_MS = 1000;

/** Where a managed key's id sits in its text: `argus_<12 hex>_...`. */
const keyIdOf = (key: string) => key.slice(6, 18);

/**
 * Decides who a presented API key belongs to. Keys from API_KEYS are checked in memory (by sha256).
 * Keys managed in Postgres are asked of apps/results (the gateway never touches Postgres), in two
 * steps, so that made-up keys cost no database query however many there are:
 *
 * 1. The key directory: every active key's id and the first hex digits of its sha256, fetched
 *    from apps/results at most once per DIRECTORY_MIN_INTERVAL_MS and again when older than
 *    API_KEY_CACHE_SECONDS. A key whose id is not listed, or whose hash does not start as listed
 *    (a real id with a guessed secret), is refused from memory. A key the directory does not
 *    list yet (created a moment ago) waits for the next fetch, shared by every such request.
 * 2. The grant of a listed key, looked up by its full sha256 and cached for
 *    API_KEY_CACHE_SECONDS: revoking a key takes effect within that time, and a busy key costs
 *    one lookup per period. Only confirmed grants are cached, so strangers cannot push known
 *    keys out of the cache; there are no per-key negative entries to fill.
 *
 * While apps/results does not answer, a key it confirmed before is still accepted (its entry,
 * even expired); any other gets 503, not 401.
 */
@Injectable()
export class KeyVerifier {
  private readonly logger = new Logger(KeyVerifier.name);
  private readonly configured = new Map<string, ApiKeyGrant>();
  private readonly cache = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<ApiKeyGrant | null>>();
  private readonly ttlMs: number;
  /** Active key id -> the start of its sha256; null until the first fetch succeeds. */
  private directory: Map<string, string> | null = null;
  private directoryAt = 0;
  private fetchedAt = Number.NEGATIVE_INFINITY;
  private fetchError: unknown = null;
  private fetching: Promise<void> | undefined;
  private warnedAt = Number.NEGATIVE_INFINITY;

  constructor(
    @Inject(ARGUS_CONFIG) config: ArgusConfig,
    private readonly results: ResultsClient,
  ) {
    for (const key of config.auth.keys) {
      this.configured.set(key.sha256, { clientId: key.id, name: key.id, priorities: [...PRIORITIES], rateLimit: null, scopes: [...key.scopes] });
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
    let listed: boolean;
    try {
      listed = await this.isListed(keyIdOf(key), sha256);
    } catch (error) {
      return this.unanswered(entry, error);
    }
    if (!listed) {
      this.cache.delete(sha256);
      return null;
    }
    let pending = this.inflight.get(sha256);
    if (!pending) {
      pending = this.lookup(sha256, keyIdOf(key), entry).finally(() => this.inflight.delete(sha256));
      this.inflight.set(sha256, pending);
    }
    return pending;
  }

  /** Whether the directory lists this id with this hash, fetching it when it is old or does not list the key. */
  private async isListed(keyId: string, sha256: string): Promise<boolean> {
    const prefix = sha256.slice(0, KEY_HASH_PREFIX_LENGTH);
    const current = this.directory !== null && Date.now() - this.directoryAt < this.ttlMs;
    if (current && this.directory?.get(keyId) === prefix) return true;
    await this.fetchDirectory();
    return this.directory?.get(keyId) === prefix;
  }

  /**
   * One fetch of the directory at a time, and at most one per DIRECTORY_MIN_INTERVAL_MS: callers
   * in between share the next one. After a failed fetch, callers in that interval fail at once
   * (apps/results is away: waiting would only add latency to keys answered from the stale cache).
   */
  private fetchDirectory(): Promise<void> {
    if (this.fetching) return this.fetching;
    const waitMs = this.fetchedAt + DIRECTORY_MIN_INTERVAL_MS - Date.now();
    if (waitMs > 0 && this.fetchError !== null) return Promise.reject(this.fetchError);
    this.fetching = (async () => {
      if (waitMs > 0) await sleep(waitMs);
      this.fetchedAt = Date.now();
      try {
        const { keys } = await this.results.apiKeyDirectory();
        this.directory = new Map(Object.entries(keys));
        this.directoryAt = Date.now();
        this.fetchError = null;
      } catch (error) {
        this.fetchError = error;
        throw error;
      }
      // A key revoked since it was confirmed goes now, not when its entry expires.
      for (const [sha256, entry] of this.cache) {
        if (this.directory.get(entry.keyId) !== sha256.slice(0, KEY_HASH_PREFIX_LENGTH)) this.cache.delete(sha256);
      }
    })().finally(() => {
      this.fetching = undefined;
    });
    return this.fetching;
  }

  private async lookup(sha256: string, keyId: string, stale: Entry | undefined): Promise<ApiKeyGrant | null> {
    let grant: ApiKeyGrant | null;
    try {
      grant = await this.results.verifyApiKey(sha256);
    } catch (error) {
      return this.unanswered(stale, error);
    }
    this.cache.delete(sha256);
    if (!grant) return null;
    this.cache.set(sha256, { keyId, grant, expiresAt: Date.now() + this.ttlMs });
    if (this.cache.size > MAX_ENTRIES) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    return grant;
  }

  /** apps/results did not answer: a key it confirmed before is still good; anything else cannot be decided. */
  private unanswered(stale: Entry | undefined, error: unknown): ApiKeyGrant {
    if (stale) {
      this.logger.warn({ msg: 'apps/results did not answer; accepting a key it confirmed before', clientId: stale.grant.clientId, error: messageOf(error) });
      return stale.grant;
    }
    // Once per interval: a flood of keys during an outage must not become a flood of log lines.
    if (Date.now() - this.warnedAt >= DIRECTORY_MIN_INTERVAL_MS) {
      this.warnedAt = Date.now();
      this.logger.warn({ msg: 'apps/results did not answer; cannot verify an API key', error: messageOf(error) });
    }
    throw new ApiError('unavailable', 'API keys cannot be verified right now; retry shortly', { 'Retry-After': '2' });
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

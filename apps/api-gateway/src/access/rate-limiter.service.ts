import { ArgusStore, type RateDecision, type RateLimit, takeToken } from '@argus/broker';
import { ARGUS_CONFIG, type ArgusConfig } from '@argus/config';
import { Inject, Injectable, Logger } from '@nestjs/common';

/**
 * Per-client rate limit: a token bucket per client in Redis (shared by every gateway replica).
 * A key's own limit (from Postgres) wins over RATE_LIMIT_PER_SECOND / RATE_LIMIT_BURST; a rate of
 * 0 means unlimited. When Redis cannot answer the request is let through: the routes that need
 * Redis answer 503 themselves, and those that do not (reading a persisted result) should not
 * fail because of the limiter.
 */
@Injectable()
export class RateLimiter {
  private readonly logger = new Logger(RateLimiter.name);
  private readonly defaults: RateLimit;
  private lastWarning = 0;

  constructor(
    @Inject(ARGUS_CONFIG) config: ArgusConfig,
    private readonly store: ArgusStore,
  ) {
    this.defaults = config.auth.rateLimit;
  }

  /** The limit that applies to a client. */
  limitFor(own: RateLimit | null): RateLimit {
    return own ?? this.defaults;
  }

  /** Takes a token for one request. */
  async take(clientId: string, own: RateLimit | null): Promise<RateDecision & { limit: RateLimit }> {
    const limit = this.limitFor(own);
    if (limit.perSecond <= 0) return { allowed: true, remaining: limit.burst, limit };
    if (this.store.redis.status !== 'ready') return { allowed: true, remaining: 0, limit };
    try {
      return { ...(await takeToken(this.store, clientId, limit)), limit };
    } catch (error) {
      if (Date.now() - this.lastWarning > 10_000) {
        this.lastWarning = Date.now();
        this.logger.warn({ msg: 'rate limiter cannot reach Redis; letting requests through', error: error instanceof Error ? error.message : String(error) });
      }
      return { allowed: true, remaining: 0, limit };
    }
  }
}

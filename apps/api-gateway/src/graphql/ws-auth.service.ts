import { Injectable, Logger } from '@nestjs/common';
import { KeyVerifier } from '../auth/key-verifier.service';
import { RateLimiter } from '../limits/rate-limiter.service';

/**
 * The API key check for graphql-ws connections: WebSocket upgrades bypass Express middleware,
 * so the HTTP check never sees them. Same keys, same verifier; a connection counts as one
 * request against the key's rate limit.
 */
@Injectable()
export class GraphqlWsAuth {
  private readonly logger = new Logger(GraphqlWsAuth.name);

  constructor(
    private readonly verifier: KeyVerifier,
    private readonly limiter: RateLimiter,
  ) {}

  /** Whether a connection presenting `key` may subscribe. */
  async allows(key: string | undefined): Promise<boolean> {
    if (!key) return false;
    const grant = await this.verifier.verify(key);
    if (!grant) return false;
    const decision = await this.limiter.take(grant.clientId, grant.rateLimit);
    if (!decision.allowed) this.logger.warn({ msg: 'graphql-ws connection refused: over the rate limit', clientId: grant.clientId });
    return decision.allowed;
  }
}

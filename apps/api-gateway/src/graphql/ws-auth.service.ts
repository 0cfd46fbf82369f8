import type { ApiKeyGrant } from '@argus/contracts';
import { Injectable, Logger } from '@nestjs/common';
import { KeyVerifier } from '../access/key-verifier.service';
import { RateLimiter } from '../access/rate-limiter.service';

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

  /** The grant of a connection presenting `key`, or null when it may not subscribe. */
  async allows(key: string | undefined): Promise<ApiKeyGrant | null> {
    if (!key) return null;
    const grant = await this.verifier.verify(key);
    if (!grant) return null;
    const decision = await this.limiter.take(grant.clientId, grant.rateLimit);
    if (!decision.allowed) this.logger.warn({ msg: 'graphql-ws connection refused: over the rate limit', clientId: grant.clientId });
    return decision.allowed ? grant : null;
  }
}

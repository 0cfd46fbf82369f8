import type { ApiKeyGrant } from '@argus/contracts';
import { Injectable, Logger } from '@nestjs/common';
import type { Context as WsContext } from 'graphql-ws';
import { KeyVerifier } from '../access/key-verifier.service';
import { RateLimiter } from '../access/rate-limiter.service';

/** Pure: the API key of a graphql-ws connection, from its connectionParams or its upgrade request's headers. */
export function wsApiKey(ctx: Pick<WsContext, 'connectionParams' | 'extra'>): string | undefined {
  const params = ctx.connectionParams ?? {};
  const headers = (ctx.extra as { request?: { headers?: Record<string, string | string[] | undefined> } } | undefined)?.request?.headers ?? {};
  const pick = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : undefined);
  const bearer = (v: unknown) => {
    const m = typeof v === 'string' ? /^Bearer\s+(.+)$/i.exec(v) : null;
    return m?.[1]?.trim();
  };
  return (
    pick(params['x-api-key']) ??
    pick(params['apiKey']) ??
    bearer(params['authorization'] ?? params['Authorization']) ??
    pick(headers['x-api-key']) ??
    bearer(headers['authorization'])
  );
}

/**
 * The API key checks of graphql-ws sockets: WebSocket upgrades bypass Express middleware, so the
 * HTTP check never sees them. Same keys, same verifier, same rate limit: the connection counts as
 * one request, and so does each subscription. A socket outlives many key cache periods, so its key
 * is checked again while it is open ({@link stillAccepted}).
 */
@Injectable()
export class GraphqlWsAuth {
  private readonly logger = new Logger(GraphqlWsAuth.name);

  constructor(
    private readonly verifier: KeyVerifier,
    private readonly limiter: RateLimiter,
  ) {}

  /** The grant of a connection presenting `key`, or null when it may not connect (no key, a wrong one, over its rate). */
  async admit(key: string | undefined): Promise<ApiKeyGrant | null> {
    if (!key) return null;
    const grant = await this.verifier.verify(key);
    if (!grant) return null;
    if (!(await this.charge(grant))) {
      this.logger.warn({ msg: 'graphql-ws connection refused: over the rate limit', clientId: grant.clientId });
      return null;
    }
    return grant;
  }

  /** Takes one request from the key's rate limit (a subscription); false when there is none left. */
  async charge(grant: ApiKeyGrant): Promise<boolean> {
    return (await this.limiter.take(grant.clientId, grant.rateLimit)).allowed;
  }

  /**
   * Whether an open socket's key is still accepted: false once it is revoked (or no longer
   * configured). When apps/results cannot say, the socket keeps its benefit of the doubt, as an
   * HTTP request with a key confirmed before does.
   */
  async stillAccepted(key: string): Promise<boolean> {
    try {
      return (await this.verifier.verify(key)) !== null;
    } catch {
      return true;
    }
  }
}

import type { ArgusStore } from './store';
import { runScript } from './scripts';

/** A token bucket: `perSecond` refill, `burst` capacity. */
export interface RateLimit {
  perSecond: number;
  burst: number;
}

export type RateDecision = { allowed: true; remaining: number } | { allowed: false; retryAfterMs: number };

/**
 * Takes one token from a client's bucket in Redis (atomic, one round trip, the Redis server's
 * clock), so every gateway replica enforces one shared limit per client.
 */
export async function takeToken(store: ArgusStore, clientId: string, limit: RateLimit): Promise<RateDecision> {
  const reply = (await runScript(store.redis, 'takeToken', [store.keys.rateLimit(clientId)], [limit.perSecond, limit.burst])) as [number, number];
  return reply[0] === 1 ? { allowed: true, remaining: Number(reply[1]) } : { allowed: false, retryAfterMs: Math.max(1, Number(reply[1])) };
}

import type { Redis } from 'ioredis';
import { isIPv4, isIPv6 } from 'node:net';

/** How many failed sign-ins one client may make in how long. */
export interface LoginPolicy {
  maxFailures: number;
  windowMs: number;
}

/** Where a client stands: its failed sign-ins in the current window, and how long it must wait (0: it may try now). */
export interface LoginStanding {
  failures: number;
  retryAfterMs: number;
}

/** Counts failed admin sign-ins per client; a client over the limit waits for its window to end. */
export interface LoginLimiter {
  standing(client: string): Promise<LoginStanding>;
  failed(client: string): Promise<void>;
  /** Clears the count (called only when there is one). */
  succeeded(client: string): Promise<void>;
}

/**
 * Pure: the client a sign-in is counted against. IPv4 addresses as they are (also when mapped
 * into IPv6); IPv6 addresses by their /64, since one host commonly holds a whole /64 and could
 * otherwise take a fresh address per guess.
 */
export function loginClient(address: string | undefined): string {
  if (!address) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return mapped[1];
  if (isIPv4(address)) return address;
  if (!isIPv6(address)) return 'unknown';
  const [head = '', tail = ''] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((g) => (parseInt(g, 16) || 0).toString(16))
    .join(':')}::/64`;
}

/**
 * Failed sign-ins in Redis (a counter per client that expires with its window), so that every
 * gateway replica counts the same attempts: in memory, a client would get the limit once per
 * replica behind a load balancer. A successful sign-in costs one read and clears the count.
 */
export class RedisLoginLimiter implements LoginLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly policy: LoginPolicy,
  ) {}

  async standing(client: string): Promise<LoginStanding> {
    const [count, ttl] = await this.redis.multi().get(this.key(client)).pttl(this.key(client)).exec().then(results);
    const failures = Number(count ?? 0);
    if (failures < this.policy.maxFailures) return { failures, retryAfterMs: 0 };
    // A counter without an expiry cannot happen (it is set with one); treat it as a full window.
    return { failures, retryAfterMs: Number(ttl) > 0 ? Number(ttl) : this.policy.windowMs };
  }

  async failed(client: string): Promise<void> {
    // The window starts at the first failure; NX keeps later failures from extending it.
    await this.redis.multi().incr(this.key(client)).pexpire(this.key(client), this.policy.windowMs, 'NX').exec().then(results);
  }

  async succeeded(client: string): Promise<void> {
    await this.redis.del(this.key(client));
  }

  private key(client: string): string {
    return `${this.prefix}:admin:failed-logins:${client}`;
  }
}

/** The replies of a MULTI, or its first error. */
function results(replies: [Error | null, unknown][] | null): unknown[] {
  if (!replies) throw new Error('the Redis transaction was discarded');
  return replies.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}

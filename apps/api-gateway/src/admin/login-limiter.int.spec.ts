import { redisForTest } from '@argus/testing';
import type { Redis } from 'ioredis';
import { loginClient, RedisLoginLimiter } from './login-limiter';

describe(RedisLoginLimiter.name, () => {
  let redis: Redis;
  let prefix: string;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    ({ redis, prefix, cleanup } = await redisForTest('login-limiter'));
  });
  afterAll(() => cleanup());

  it('locks a client out after the limit, for the rest of the window that began at its first failure, for every replica', async () => {
    const replicaA = new RedisLoginLimiter(redis, prefix, { maxFailures: 3, windowMs: 60_000 });
    const other = redis.duplicate();
    const replicaB = new RedisLoginLimiter(other, prefix, { maxFailures: 3, windowMs: 60_000 });
    await replicaA.failed('203.0.113.9');
    await replicaB.failed('203.0.113.9');
    expect(await replicaA.standing('203.0.113.9')).toEqual({ failures: 2, retryAfterMs: 0 });
    await replicaA.failed('203.0.113.9');
    const locked = await replicaB.standing('203.0.113.9');
    expect(locked.failures).toBe(3);
    expect(locked.retryAfterMs).toBeGreaterThan(50_000);
    expect(locked.retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(await replicaA.standing('198.51.100.3')).toEqual({ failures: 0, retryAfterMs: 0 });
    // the counter carries its own expiry: nothing stays behind after the window
    expect(await redis.pttl(`${prefix}:admin:failed-logins:203.0.113.9`)).toBeGreaterThan(0);
    await replicaB.succeeded('203.0.113.9');
    expect(await replicaA.standing('203.0.113.9')).toEqual({ failures: 0, retryAfterMs: 0 });
    other.disconnect();
  });

  it('lets the window run out', async () => {
    const limiter = new RedisLoginLimiter(redis, prefix, { maxFailures: 1, windowMs: 300 });
    await limiter.failed('192.0.2.1');
    expect((await limiter.standing('192.0.2.1')).retryAfterMs).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 400));
    expect(await limiter.standing('192.0.2.1')).toEqual({ failures: 0, retryAfterMs: 0 });
  });
});

describe(loginClient.name, () => {
  it('counts IPv4 as it is, IPv4 mapped into IPv6 as IPv4, and IPv6 by its /64', () => {
    expect(loginClient('203.0.113.7')).toBe('203.0.113.7');
    expect(loginClient('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(loginClient('2001:db8:1:2:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64');
    expect(loginClient('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(loginClient('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(loginClient('::1')).toBe('0:0:0:0::/64');
    expect(loginClient(undefined)).toBe('unknown');
    expect(loginClient('not an address')).toBe('unknown');
  });
});

import { redisForTest, testRetention } from '@argus/testing';
import type { Redis } from 'ioredis';
import { takeToken } from './rate-limit';
import { ArgusStore } from './store';

const retention = testRetention();

describe(takeToken.name, () => {
  let redis: Redis;
  let store: ArgusStore;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const t = await redisForTest('ratelimit');
    redis = t.redis;
    cleanup = t.cleanup;
    store = new ArgusStore(redis, t.prefix, retention);
  });
  afterAll(() => cleanup());

  it('allows a burst, then refuses with the time until the next token', async () => {
    const limit = { perSecond: 2, burst: 3 };
    const decisions = [];
    for (let i = 0; i < 4; i++) decisions.push(await takeToken(store, 'client-a', limit));
    expect(decisions.slice(0, 3).map((d) => d.allowed)).toEqual([true, true, true]);
    expect(decisions[3]).toMatchObject({ allowed: false });
    const refused = decisions[3] as { retryAfterMs: number };
    expect(refused.retryAfterMs).toBeGreaterThan(0);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(500);
    // another client has its own bucket
    expect(await takeToken(store, 'client-b', limit)).toMatchObject({ allowed: true, remaining: 2 });
  });

  it('refills at the configured rate', async () => {
    const limit = { perSecond: 20, burst: 1 };
    expect((await takeToken(store, 'client-c', limit)).allowed).toBe(true);
    expect((await takeToken(store, 'client-c', limit)).allowed).toBe(false);
    await new Promise((r) => setTimeout(r, 80));
    expect((await takeToken(store, 'client-c', limit)).allowed).toBe(true);
  });

  it('is atomic under concurrency: exactly the burst gets through', async () => {
    const limit = { perSecond: 0.001, burst: 10 };
    const decisions = await Promise.all(Array.from({ length: 40 }, () => takeToken(store, 'client-d', limit)));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(10);
  });

  it('lets the bucket expire once it would be full again', async () => {
    await takeToken(store, 'client-e', { perSecond: 10, burst: 5 });
    const ttl = await redis.ttl(store.keys.rateLimit('client-e'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(2);
  });
});

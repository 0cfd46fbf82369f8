import { BULLMQ_PRIORITY, JobName } from '@argus/contracts';
import { redisForTest } from '@argus/testing';
import type { Redis } from 'ioredis';
import { Cached, countQueue, queueBacklog } from './queue-depth';
import { DetectJobs, type DetectQueue } from './detect-jobs';

describe('queue depth', () => {
  let redis: Redis;
  let queue: DetectQueue;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const t = await redisForTest('queuedepth');
    redis = t.redis;
    cleanup = t.cleanup;
    queue = new DetectJobs(redis, t.prefix, { attempts: 1, backoffMs: 10 }).queue('m');
  });
  afterAll(async () => {
    await queue.close();
    await cleanup();
  });

  it('counts waiting jobs by state and priority, and the backlog', async () => {
    const data = { workKey: '0'.repeat(64), sha256: '0'.repeat(64), model: { name: 'm', version: 'v' }, params: { confidence: 0.25, iou: 0.45, classes: null, maxDetections: 10, agnostic: false }, requestId: 'r', correlationId: 'c', enqueuedAt: 0 };
    await queue.add(JobName.Detect, { ...data, priority: 'high' }, { priority: BULLMQ_PRIORITY.high });
    for (let i = 0; i < 3; i++) await queue.add(JobName.Detect, { ...data, priority: 'low' }, { priority: BULLMQ_PRIORITY.low });
    await queue.add(JobName.Detect, { ...data, priority: 'normal' }, { priority: BULLMQ_PRIORITY.normal, delay: 60000 });
    const counts = await countQueue(queue, true);
    expect(counts).toEqual({
      queue: 'detect.m',
      states: { waiting: 4, active: 0, delayed: 1, failed: 0, completed: 0 },
      waitingByPriority: { high: 1, normal: 0, low: 3 },
    });
    expect(await queueBacklog(queue)).toBe(5);
  });
});

describe(Cached.name, () => {
  it('loads once for concurrent readers and again only when stale', async () => {
    let loads = 0;
    const cached = new Cached(async () => {
      loads += 1;
      await new Promise((r) => setTimeout(r, 20));
      return loads;
    }, 50);
    expect(await Promise.all([cached.get(), cached.get(), cached.get()])).toEqual([1, 1, 1]);
    expect(await cached.get()).toBe(1);
    await new Promise((r) => setTimeout(r, 60));
    expect(await cached.get()).toBe(2);
  });
});

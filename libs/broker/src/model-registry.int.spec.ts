import type { HostedModelStatus, ModelInfo } from '@argus/contracts';
import { redisForTest, testModelInfo } from '@argus/testing';
import type { Redis } from 'ioredis';
import { ArgusKeys } from './keys';
import { ModelRegistry } from './model-registry';

const info = (version: string): ModelInfo => ({ ...testModelInfo(['person']), version, updatedAt: new Date().toISOString() });
const hosting = (...versions: string[]): HostedModelStatus[] => [
  {
    name: 'yolox-nano',
    version: versions[0] ?? '',
    provider: 'cpu',
    state: 'serving',
    reason: null,
    versions: versions.map((version) => ({ version, digest: 'f'.repeat(64), weight: 50, state: 'serving', reason: null, loadedAt: null, inFlight: 0, provider: 'cpu' })),
  },
];

describe(ModelRegistry.name, () => {
  let redis: Redis;
  let keys: ArgusKeys;
  let registry: ModelRegistry;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const t = await redisForTest('registry');
    redis = t.redis;
    cleanup = t.cleanup;
    keys = new ArgusKeys(t.prefix);
    registry = new ModelRegistry(redis, keys);
  });
  afterAll(async () => {
    registry.close();
    await cleanup();
  });

  it('publishes each version a process serves, by name and version, with a heartbeat that lists live processes', async () => {
    await registry.publish('w1', hosting('1'), [info('1')], 10);
    await registry.publish('w2', hosting('2'), [info('2')], 10);
    // Two processes serving different versions do not overwrite each other.
    expect((await registry.versions()).map((v) => `${v.name}@${v.version}`)).toEqual(['yolox-nano@1', 'yolox-nano@2']);
    expect(await registry.modelNames()).toEqual(['yolox-nano']);
    expect((await registry.liveWorkers()).map((w) => [w.id, w.models[0]?.versions.map((v) => v.version)])).toEqual([
      ['w1', ['1']],
      ['w2', ['2']],
    ]);
    // A process that stopped beating is not live, and is dropped from the heartbeats after a while.
    const stopped = (ago: number) => JSON.stringify({ models: [], at: new Date().toISOString(), expiresAt: Date.now() - ago });
    await redis.hset(keys.workers(), 'gone-recently', stopped(1000), 'gone-long-ago', stopped(3_600_000));
    expect((await registry.liveWorkers()).map((w) => w.id)).toEqual(['w1', 'w2']);
    await registry.publish('w1', hosting('1'), [], 10);
    expect((await registry.heartbeats()).map((w) => w.id)).toEqual(['gone-recently', 'w1', 'w2']);
    await registry.withdrawWorker('w2');
    await redis.hdel(keys.workers(), 'gone-recently');
    // One key holds the heartbeats: listing never scans the keyspace.
    expect(await redis.keys(`${keys.prefix}:worker*`)).toEqual([keys.workers()]);
  });

  it('withdraws a version gone from the repository only once no other live process holds it', async () => {
    await registry.publish('w1', hosting('1', '3'), [info('1'), info('3')], 10);
    await registry.publish('w3', hosting('3'), [info('3')], 10);
    // w1 drops version 3 (heartbeat first), but w3 still holds it: the description stays.
    await registry.publish('w1', hosting('1'), [info('1')], 10);
    expect(await registry.withdraw('w1', [{ name: 'yolox-nano', version: '3' }])).toEqual([]);
    expect((await registry.versions()).map((v) => v.version)).toContain('3');
    await registry.publish('w3', [], [], 10);
    expect(await registry.withdraw('w3', [{ name: 'yolox-nano', version: '3' }])).toEqual(['yolox-nano@3']);
    expect((await registry.versions()).map((v) => v.version)).not.toContain('3');
    // A process that stops keeps its descriptions: its pool may come back and its jobs wait meanwhile.
    await registry.withdrawWorker('w1');
    expect((await registry.versions()).map((v) => v.version)).toContain('1');
  });

  it('records unloads until a load, counts loads and reloads, and nudges subscribers', async () => {
    const nudges: number[] = [];
    const connection = redis.duplicate();
    const subscriber = new ModelRegistry(connection, keys);
    await subscriber.subscribe(() => nudges.push(Date.now()));
    try {
      await registry.request('unload', { name: 'yolox-nano', version: '2' });
      await registry.request('unload', { name: 'yolov8n-int8' });
      expect((await registry.control()).unloaded).toEqual(['yolov8n-int8', 'yolox-nano@2']);
      await registry.request('reload', { name: 'yolox-nano' });
      await registry.request('reload', { name: 'yolox-nano' });
      // A model's load clears its versions' unloads too, and counts a load (failed versions are retried).
      const control = await registry.request('load', { name: 'yolox-nano' });
      expect(control).toEqual({ unloaded: ['yolov8n-int8'], loads: { 'yolox-nano': 1 }, reloads: { 'yolox-nano': 2 } });
      expect(await registry.control()).toEqual(control);
      await new Promise((r) => setTimeout(r, 200));
      expect(nudges.length).toBe(5);
    } finally {
      subscriber.close();
      connection.disconnect();
    }
  });
});

import { type RedisServer, type Stack, startRedisServer, startStack } from '@argus/testing';
import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { eventually } from './helpers';

/** A PNG of random pixels (incompressible, about width*height*3 bytes), different every call. */
async function noisePng(width: number, height: number): Promise<Buffer> {
  return sharp(randomBytes(width * height * 3), { raw: { width, height, channels: 3 } }).png({ compressionLevel: 0 }).toBuffer();
}

/**
 * Bounded memory: a Redis with a small maxmemory and noeviction (as every deployment runs it).
 * Waiting images are most of what Redis holds; admission refuses new work with 503 + Retry-After
 * above MAX_REDIS_MEMORY_PERCENT of maxmemory, the backlog drains in the room left, and the
 * service takes work again by itself. Nothing it accepted is lost.
 */
describe('faults: Redis memory is bounded (maxmemory 48 MB, noeviction)', () => {
  let redis: RedisServer;
  let stack: Stack;

  beforeAll(async () => {
    redis = await startRedisServer({ maxmemory: '48mb' });
    stack = await startStack({
      label: 'faultsmem',
      redisUrl: redis.url,
      start: ['results', 'api-gateway'],
      env: { MAX_REDIS_MEMORY_PERCENT: '70', IMAGE_RETENTION_SECONDS: '0', MAX_QUEUE_DEPTH: '0' },
    });
    // The gateway needs a published model: start inference once, then stop it so that work piles up.
    await stack.startApp('inference');
    await stack.stopApp('inference');
  });
  afterAll(async () => {
    await stack?.stop();
    await redis?.destroy();
  });

  it('answers 503 overloaded + Retry-After once Redis is nearly full, recovers by itself when room returns, and loses nothing accepted', async () => {
    const accepted: string[] = [];
    const statuses: number[] = [];
    let refusal: { status: number; code?: string; retryAfter: string | null } | undefined;
    for (let i = 0; i < 120 && !refusal; i++) {
      const form = new FormData();
      form.set('image', new Blob([new Uint8Array(await noisePng(560, 560))]), 'noise.png');
      const res = await fetch(`${stack.baseUrl}/v1/detections`, { method: 'POST', body: form, headers: { 'x-api-key': stack.apiKey } });
      const body = (await res.json()) as { id?: string; error?: { code?: string } };
      statuses.push(res.status);
      if (res.status === 202 && body.id) accepted.push(body.id);
      else refusal = { status: res.status, ...(body.error?.code ? { code: body.error.code } : {}), retryAfter: res.headers.get('retry-after') };
      // Let the gateway's 250 ms memory reading catch up, so the limit is met, not overshot by a burst.
      await new Promise((r) => setTimeout(r, 60));
    }
    expect(refusal).toEqual({ status: 503, code: 'overloaded', retryAfter: expect.stringMatching(/^\d+$/) });
    expect(accepted.length).toBeGreaterThan(5);
    expect(statuses.filter((s) => s >= 500 && s !== 503)).toEqual([]);
    const info = await stack.redis.info('memory');
    const used = Number(/used_memory:(\d+)/.exec(info)?.[1]);
    expect(used).toBeLessThan(48 * 1024 * 1024);

    // Room returns once the backlog drains: a worker starts, and the service takes work again by itself.
    await stack.startApp('inference');
    const again = await eventually(async () => {
      const form = new FormData();
      form.set('image', new Blob([new Uint8Array(await noisePng(64, 64))]), 'small.png');
      const res = await fetch(`${stack.baseUrl}/v1/detections`, { method: 'POST', body: form, headers: { 'x-api-key': stack.apiKey } });
      const body = (await res.json()) as { id?: string };
      return res.status === 202 || res.status === 200 ? body.id : undefined;
    }, 120000, 500);
    accepted.push(String(again));

    const rows = await eventually(async () => {
      const r = await stack.query(`SELECT id, status FROM "${stack.schema}".detections WHERE id = ANY($1)`, [accepted]);
      return r.rows.length === accepted.length ? (r.rows as { id: string; status: string }[]) : undefined;
    }, 180000, 500);
    expect(rows.map((r) => r.id).sort()).toEqual([...accepted].sort());
    // Waiting images left with their jobs: Redis is back well under the limit.
    const after = Number(/used_memory:(\d+)/.exec(await stack.redis.info('memory'))?.[1]);
    expect(after).toBeLessThan(used);
  });
});

import { type RedisServer, type Stack, startRedisServer, startStack } from '@argus/testing';
import { eventually, photo } from './helpers';

/** One submission's fate as the client saw it. */
interface Sent {
  at: number;
  ms: number;
  status: number;
  id?: string;
  code?: string;
  retryAfter?: string | null;
}

describe('faults: Redis restarts under load (its own redis-server, AOF)', () => {
  let redis: RedisServer;
  let stack: Stack;

  beforeAll(async () => {
    redis = await startRedisServer();
    // Short locks: a job whose lock could not be renewed while Redis was away comes back in seconds.
    stack = await startStack({ label: 'faultsredis', redisUrl: redis.url, env: { JOB_LOCK_MS: '2000', JOB_STALLED_INTERVAL_MS: '1000' } });
  });
  afterAll(async () => {
    await stack?.stop();
    await redis?.destroy();
  });

  it('answers 503 + Retry-After quickly while Redis is down, recovers by itself, and loses no accepted job', async () => {
    const image = photo('coco-000000002006-bus-640x480.jpg');
    const sent: Sent[] = [];
    let n = 0;
    let running = true;
    const submitOne = async (): Promise<void> => {
      const i = n++;
      const form = new FormData();
      form.set('image', new Blob([new Uint8Array(image)]), 'bus.jpg');
      // a distinct confidence per request: distinct work, so every request is its own job
      form.set('confidence', (0.2 + (i % 700) * 0.001).toFixed(3));
      const started = Date.now();
      try {
        const res = await fetch(`${stack.baseUrl}/v1/detections`, { method: 'POST', body: form, headers: { 'x-api-key': stack.apiKey }, signal: AbortSignal.timeout(10000) });
        const body = (await res.json()) as { id?: string; error?: { code?: string } };
        sent.push({ at: started, ms: Date.now() - started, status: res.status, ...(body.id ? { id: body.id } : {}), ...(body.error?.code ? { code: body.error.code } : {}), retryAfter: res.headers.get('retry-after') });
      } catch (error) {
        sent.push({ at: started, ms: Date.now() - started, status: 0, code: String(error) });
      }
    };
    // three clients, one request each at a time, a little pause between
    const clients = [0, 1, 2].map(async () => {
      while (running) {
        await submitOne();
        await new Promise((r) => setTimeout(r, 40));
      }
    });

    await new Promise((r) => setTimeout(r, 1500));
    const downAt = Date.now();
    await redis.stop('SIGTERM'); // Redis writes its AOF on the way out
    await new Promise((r) => setTimeout(r, 1500));
    const ready = await fetch(`${stack.opsUrl}/health/ready`);
    expect(ready.status).toBe(503);
    await new Promise((r) => setTimeout(r, 1500));
    await redis.start();
    const upAt = Date.now();
    const gatewayPid = stack.process('api-gateway')?.pid;
    // recovery: accepted submissions again, without restarting anything
    await eventually(async () => (sent.some((s) => s.at > upAt && (s.status === 202 || s.status === 200)) ? true : undefined), 20000);
    await new Promise((r) => setTimeout(r, 1000));
    running = false;
    await Promise.all(clients);
    expect(stack.process('api-gateway')?.pid).toBe(gatewayPid);

    const during = sent.filter((s) => s.at > downAt + 300 && s.at + s.ms < upAt);
    expect(during.length).toBeGreaterThan(5);
    expect(during.every((s) => s.status === 503 && s.retryAfter !== null)).toBe(true);
    // fast: the gateway checks its connection instead of waiting for Redis
    expect(Math.max(...during.map((s) => s.ms))).toBeLessThan(500);
    // nothing but accepted or 503, ever: no 500, no hang, no dropped connection
    expect([...new Set(sent.map((s) => s.status))].sort()).toEqual([202, 503]);
    expect(sent.filter((s) => s.status === 503).every((s) => s.code === 'unavailable')).toBe(true);

    const accepted = sent.filter((s) => s.status === 202).map((s) => s.id as string);
    const acceptedBefore = sent.filter((s) => s.status === 202 && s.at < downAt).length;
    expect(acceptedBefore).toBeGreaterThan(5);
    const rows = await eventually(async () => {
      const r = await stack.query(`SELECT id, status FROM "${stack.schema}".detections WHERE id = ANY($1)`, [accepted]);
      return r.rows.length === accepted.length ? (r.rows as { id: string; status: string }[]) : undefined;
    }, 90000, 500);
    expect(rows.map((r) => r.id).sort()).toEqual([...accepted].sort());
    expect(rows.filter((r) => r.status !== 'completed')).toEqual([]);
    const ready2 = await fetch(`${stack.opsUrl}/health/ready`);
    expect(ready2.status).toBe(200);
    // the gateway's event listener came back too: a client waiting for its result gets it
    const form = new FormData();
    form.set('image', new Blob([new Uint8Array(photo('darknet-dog.jpg'))]), 'dog.jpg');
    const waited = await fetch(`${stack.baseUrl}/v1/detections?wait=20000`, { method: 'POST', body: form, headers: { 'x-api-key': stack.apiKey } });
    expect(waited.status).toBe(200);
    expect(await waited.json()).toMatchObject({ status: 'completed' });
  });
});

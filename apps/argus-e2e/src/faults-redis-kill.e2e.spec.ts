import { type RedisServer, type Stack, startRedisServer, startStack } from '@argus/testing';
import { photo } from './helpers';

/** An accepted submission: its id and when the gateway answered it. */
interface Accepted {
  id: string;
  at: number;
}

/**
 * What a Redis crash (SIGKILL) under load can lose with the persistence Argus ships (AOF,
 * appendfsync everysec): the writes of the last second before the crash, which the AOF had not
 * yet flushed to disk. For Argus that is at most the requests admitted in that second: their
 * record, ledger entry and job go together (one script, then the job), so such a request is
 * either wholly there after the restart or wholly gone (its id then answers 404). Everything
 * admitted earlier ends in Postgres once: half-finished work is finished by the stalled-job check
 * and the reconciler. With appendfsync always, nothing accepted is lost at all.
 */
describe.each([
  { appendfsync: 'everysec' as const, window: 1500 },
  { appendfsync: 'always' as const, window: 0 },
])('faults: Redis is killed (SIGKILL) under load, AOF appendfsync $appendfsync', ({ appendfsync, window }) => {
  let redis: RedisServer;
  let stack: Stack;

  beforeAll(async () => {
    redis = await startRedisServer({ appendfsync });
    stack = await startStack({
      label: `rediskill${appendfsync}`,
      redisUrl: redis.url,
      env: { JOB_LOCK_MS: '2000', JOB_STALLED_INTERVAL_MS: '1000', RECONCILE_AFTER_SECONDS: '5' },
    });
  });
  afterAll(async () => {
    await stack?.stop();
    await redis?.destroy();
  });

  it(`ends every request accepted more than ${window} ms before the crash in Postgres, once`, async () => {
    const image = photo('coco-000000002006-bus-640x480.jpg');
    const accepted: Accepted[] = [];
    let n = 0;
    let running = true;
    const client = async () => {
      while (running) {
        const form = new FormData();
        form.set('image', new Blob([new Uint8Array(image)]), 'bus.jpg');
        form.set('confidence', (0.2 + (n++ % 700) * 0.001).toFixed(3));
        try {
          const res = await fetch(`${stack.baseUrl}/v1/detections`, { method: 'POST', body: form, headers: { 'x-api-key': stack.apiKey }, signal: AbortSignal.timeout(10000) });
          const body = (await res.json()) as { id?: string };
          if ((res.status === 202 || res.status === 200) && body.id) accepted.push({ id: body.id, at: Date.now() });
          else expect([503]).toContain(res.status);
        } catch {
          // a connection cut by the crash: not accepted
        }
        await new Promise((r) => setTimeout(r, 30));
      }
    };
    const clients = [0, 1, 2].map(() => client());
    await new Promise((r) => setTimeout(r, 2500));
    const killedAt = Date.now();
    await redis.stop('SIGKILL');
    await new Promise((r) => setTimeout(r, 1000));
    await redis.start();
    await new Promise((r) => setTimeout(r, 2500));
    running = false;
    await Promise.all(clients);

    const mustLand = accepted.filter((a) => a.at < killedAt - window).map((a) => a.id);
    const afterRestart = accepted.filter((a) => a.at > killedAt).map((a) => a.id);
    expect(mustLand.length).toBeGreaterThan(10);
    expect(afterRestart.length).toBeGreaterThan(0);
    const wanted = [...mustLand, ...afterRestart];
    const deadline = Date.now() + 120_000;
    let rows: { id: string; status: string }[] = [];
    while (Date.now() < deadline) {
      rows = (await stack.query(`SELECT id, status FROM "${stack.schema}".detections WHERE id = ANY($1)`, [wanted])).rows as { id: string; status: string }[];
      if (rows.length === wanted.length) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(wanted.filter((id) => !rows.some((r) => r.id === id))).toEqual([]);
    expect(rows.filter((r) => r.status !== 'completed')).toEqual([]);
    // Once: no request has two rows (the primary key says so), and no accepted id was answered twice.
    expect(new Set(accepted.map((a) => a.id)).size).toBe(accepted.length);
  });
});

import { ArgusClient } from '@argus/client';
import { type Stack, startStack, workspaceRoot } from '@argus/testing';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, photo, upload } from './helpers';

describe('Bull Board at /admin/queues (real stack)', () => {
  let stack: Stack;
  const password = randomBytes(12).toString('base64url');
  const basic = (user: string, pass: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` });
  const board = (path: string, headers: Record<string, string> = {}) => fetch(`${stack.baseUrl}/admin/queues${path}`, { headers });

  beforeAll(async () => {
    // Every model of the repository served (two detection queues); a persist job fails for good at
    // its first failure; five failed sign-ins per address (the first test makes four: the requests
    // without credentials count none).
    stack = await startStack({
      label: 'board',
      env: { ADMIN_USER: 'ops', ADMIN_PASSWORD: password, RESULTS_ATTEMPTS: '1', ADMIN_MAX_FAILED_LOGINS: '5', ADMIN_FAILED_LOGIN_WINDOW_SECONDS: '600' },
    });
  });
  afterAll(() => stack?.stop());

  it('answers 401 with a Basic challenge without the admin credentials, whatever else is sent', async () => {
    const attempts: Record<string, string>[] = [{}, basic('ops', 'wrong'), basic('admin', password), { 'x-api-key': stack.apiKey }];
    for (const headers of attempts) {
      for (const path of ['', '/api/queues']) {
        const res = await board(path, headers);
        expect([path, res.status]).toEqual([path, 401]);
        expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="Argus queues"/);
        expect(await res.json()).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
      }
    }
  });

  it('serves the board page and its assets with them', async () => {
    const res = await board('', basic('ops', password));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    const html = await res.text();
    expect(html).toContain('<base href="/admin/queues/" />');
    expect(html).toContain('<title>Argus queues</title>');
    const asset = /src="(static\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeDefined();
    const js = await board(`/${asset ?? ''}`, basic('ops', password));
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect((await board(`/${asset ?? ''}`)).status).toBe(401); // the assets are behind the same door
  });

  it("lists every model's detection queue, results and maintenance, with the configured prefix, and the jobs a detection made", async () => {
    const client = new ArgusClient({ baseUrl: stack.baseUrl, apiKey: stack.apiKey });
    const done = await client.detect(photo('darknet-dog.jpg'), { wait: 20000 });
    await eventually(async () => ((await stack.redis.zscore(`${stack.prefix}:unpersisted`, done.id)) === null ? true : undefined));
    const res = await board('/api/queues?activeQueue=detect.yolox-nano&status=completed&page=1', basic('ops', password));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { queues: BoardQueue[] };
    const byName = new Map(body.queues.map((q) => [q.name, q]));
    expect([...byName.keys()].sort()).toEqual(['detect.yolov8n-int8', 'detect.yolox-nano', 'maintenance', 'results']);
    expect(byName.get('detect.yolox-nano')).toMatchObject({ displayName: `${stack.prefix}:detect.yolox-nano`, readOnlyMode: false });
    expect(byName.get('detect.yolox-nano')?.jobs.map((j) => j.id)).toContain(done.id);
    expect(byName.get('results')?.counts['completed']).toBeGreaterThanOrEqual(1);
  });

  it('retries a persist job that failed for good from the board, and the row lands; cleans a queue', async () => {
    const table = `"${stack.schema}".detections`;
    await stack.query(`ALTER TABLE ${table} RENAME TO detections_away`);
    let id: string;
    try {
      const res = await upload(stack, photo('zidane.jpg'), {}, '?wait=20000');
      expect(res.status).toBe(200);
      id = String(res.body['id']);
      // RESULTS_ATTEMPTS=1: the first failure (no such table, not an outage) fails the job for good.
      await eventually(async () => {
        const list = await board('/api/queues?activeQueue=results&status=failed&page=1', basic('ops', password));
        const results = ((await list.json()) as { queues: BoardQueue[] }).queues.find((q) => q.name === 'results');
        return (results?.counts['failed'] ?? 0) >= 1 ? true : undefined;
      });
    } finally {
      await stack.query(`ALTER TABLE "${stack.schema}".detections_away RENAME TO detections`);
    }
    expect((await stack.query(`SELECT 1 FROM ${table} WHERE id = $1`, [id])).rows).toHaveLength(0);
    const retry = await fetch(`${stack.baseUrl}/admin/queues/api/queues/results/retry/failed`, { method: 'PUT', headers: basic('ops', password) });
    expect(retry.status).toBe(200);
    const row = await eventually(async () => (await stack.query(`SELECT status FROM ${table} WHERE id = $1`, [id])).rows[0] as { status: string } | undefined);
    expect(row.status).toBe('completed');

    // The board cleans jobs finished more than 5 s ago.
    await new Promise((r) => setTimeout(r, 5500));
    const clean = await fetch(`${stack.baseUrl}/admin/queues/api/queues/results/clean/completed`, { method: 'PUT', headers: basic('ops', password) });
    expect(clean.status).toBe(200);
    const after = (await (await board('/api/queues?activeQueue=results&status=completed&page=1', basic('ops', password))).json()) as { queues: BoardQueue[] };
    expect(after.queues.find((q) => q.name === 'results')?.counts['completed']).toBe(0);
    // Without the admin's credentials, the same action is refused.
    expect((await fetch(`${stack.baseUrl}/admin/queues/api/queues/results/retry/failed`, { method: 'PUT' })).status).toBe(401);
  });

  it('locks an address out after too many failed sign-ins (429 + Retry-After, even for the right password), counted in Redis', async () => {
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) seen.push((await board('', basic('ops', `guess-${i}`))).status);
    expect(seen).toEqual([401, 401, 401, 401, 401]);
    const locked = await board('', basic('ops', password));
    expect(locked.status).toBe(429);
    const retryAfter = Number(locked.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(500);
    expect(retryAfter).toBeLessThanOrEqual(600);
    expect(await locked.json()).toEqual({ error: { code: 'rate_limited', message: expect.stringMatching(/Too many failed sign-ins/) } });
    // the count is one Redis key per address, with the window as its expiry: what every replica reads
    const keys = await stack.redis.keys(`${stack.prefix}:admin:failed-logins:*`);
    expect(keys).toEqual([`${stack.prefix}:admin:failed-logins:127.0.0.1`]);
    expect(await stack.redis.pttl(keys[0] ?? '')).toBeGreaterThan(0);
    // the window ends (here: the key goes): the admin gets in at once, and the count is gone
    await stack.redis.del(keys[0] ?? '');
    expect((await board('', basic('ops', password))).status).toBe(200);
  });

  it('refuses to start with an admin password shorter than 12 characters, saying why', async () => {
    await stack.stopApp('api-gateway');
    try {
      await expect(stack.startApp('api-gateway', { ADMIN_PASSWORD: 'short-pass1' })).rejects.toThrow(/exited \(1\) before it was ready/);
      const log = readFileSync(join(workspaceRoot(), 'test-artifacts', 'logs', stack.schema, 'api-gateway.log'), 'utf8');
      expect(log).toMatch(/ADMIN_PASSWORD: must be at least 12 characters/);
    } finally {
      await stack.startApp('api-gateway');
    }
  });
});

interface BoardQueue {
  name: string;
  displayName?: string;
  readOnlyMode: boolean;
  counts: Record<string, number>;
  jobs: { id: string }[];
}

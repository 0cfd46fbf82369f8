import { ArgusClient } from '@argus/client';
import { type Stack, startStack } from '@argus/testing';
import { randomBytes } from 'node:crypto';
import { photo } from './helpers';

describe('Bull Board at /admin/queues (real stack)', () => {
  let stack: Stack;
  const password = randomBytes(12).toString('base64url');
  const basic = (user: string, pass: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` });
  const board = (path: string, headers: Record<string, string> = {}) => fetch(`${stack.baseUrl}/admin/queues${path}`, { headers });

  beforeAll(async () => {
    stack = await startStack({ label: 'board', env: { ADMIN_USER: 'ops', ADMIN_PASSWORD: password } });
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

  it('lists the detection queue, with the configured prefix, and the job a detection made', async () => {
    const client = new ArgusClient({ baseUrl: stack.baseUrl, apiKey: stack.apiKey });
    const done = await client.detect(photo('darknet-dog.jpg'), { wait: 20000 });
    const res = await board('/api/queues?activeQueue=detect&status=completed&page=1', basic('ops', password));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { queues: { name: string; displayName?: string; readOnlyMode: boolean; counts: Record<string, number>; jobs: { id: string }[] }[] };
    const byName = new Map(body.queues.map((q) => [q.name, q]));
    // Finished work travels to apps/results on a Redis stream, not a BullMQ queue (ADR 0011).
    expect([...byName.keys()]).toEqual(['detect']);
    expect(byName.get('detect')).toMatchObject({ displayName: `${stack.prefix}:detect`, readOnlyMode: true });
    expect(byName.get('detect')?.counts['completed']).toBeGreaterThanOrEqual(1);
    expect(byName.get('detect')?.jobs.map((j) => j.id)).toContain(done.id);
  });
});

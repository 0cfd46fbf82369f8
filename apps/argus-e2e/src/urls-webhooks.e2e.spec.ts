import { verifyWebhook } from '@argus/client';
import { QueueName } from '@argus/contracts';
import { localHttpServer, type LocalHttpServer, type Stack, startStack, workspaceRoot } from '@argus/testing';
import { Queue } from 'bullmq';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { eventually, labelCounts, photo } from './helpers';

const WEBHOOK_SECRET = `whsec_${Buffer.from('a webhook secret for the e2e test').toString('base64')}`;

/** What a receiver saw of one delivery. */
interface Delivery {
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  answered: number;
}

/** A local server: images to fetch, and webhook receivers that answer what `answers` says. */
async function localServer(answers: Record<string, number[]>): Promise<LocalHttpServer & { hits: string[]; deliveries: Delivery[] }> {
  const hits: string[] = [];
  const deliveries: Delivery[] = [];
  const bus = photo('bus.jpg');
  const server = await localHttpServer((req, res) => {
    const path = req.url ?? '';
    hits.push(path);
    if (path.startsWith('/hook')) {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const planned = answers[path] ?? [204];
        const answered = planned[Math.min(deliveries.filter((d) => d.path === path).length, planned.length - 1)] ?? 204;
        deliveries.push({ path, headers: req.headers, body: Buffer.concat(chunks), answered });
        res.writeHead(answered).end();
      });
      return;
    }
    switch (path) {
      case '/bus.jpg':
        return void res.writeHead(200, { 'content-type': 'image/jpeg' }).end(bus);
      case '/moved-bus.jpg':
        return void res.writeHead(301, { location: '/bus.jpg' }).end();
      case '/to-metadata':
        return void res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/iam/' }).end();
      case '/to-private':
        return void res.writeHead(307, { location: 'http://10.0.0.1/bus.jpg' }).end();
      case '/big.jpg':
        res.writeHead(200, { 'content-type': 'image/jpeg' });
        // Streamed without a length: the limit has to count.
        for (let i = 0; i < 20; i++) res.write(Buffer.alloc(100_000, 0xff));
        return void res.end();
      case '/slow.jpg':
        res.writeHead(200, { 'content-type': 'image/jpeg' });
        return void res.write(bus.subarray(0, 1000)); // and nothing more
      default:
        return void res.writeHead(404).end();
    }
  });
  return { ...server, hits, deliveries };
}

describe('image URLs and webhooks: outbound requests under the address policy (real stack)', () => {
  let stack: Stack;
  let local: Awaited<ReturnType<typeof localServer>>;

  async function submit(fields: Record<string, string>, key = stack.apiKey): Promise<{ status: number; body: Record<string, unknown> & { error?: { code: string; message: string } } }> {
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) form.set(name, value);
    const res = await fetch(`${stack.baseUrl}/v1/detections`, { method: 'POST', body: form, headers: { 'x-api-key': key } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> & { error?: { code: string; message: string } } };
  }

  beforeAll(async () => {
    local = await localServer({ '/hook/retry': [500, 204], '/hook/down': [500] });
    stack = await startStack({
      label: 'urls-webhooks',
      env: {
        URL_FETCH_ALLOW: '127.0.0.1',
        URL_FETCH_TIMEOUT_MS: '1500',
        MAX_IMAGE_BYTES: '1000000',
        WEBHOOK_SECRET,
        WEBHOOK_BACKOFF_MS: '300',
        WEBHOOK_ATTEMPTS: '3',
      },
    });
  });
  afterAll(async () => {
    await stack?.stop();
    await local?.close();
  });

  it('detects the image at an allowed URL like an upload, redirects included', async () => {
    const answer = await submit({ url: `${local.base}/bus.jpg`, wait: '30000' });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: 'completed', image: { width: 810, height: 1080, sha256: createHash('sha256').update(photo('bus.jpg')).digest('hex') } });
    expect(labelCounts(answer.body['detections'], 0.25)).toEqual({ person: 4, bus: 1 });
    // Through a redirect: the same bytes, answered from the cache.
    const moved = await submit({ url: `${local.base}/moved-bus.jpg`, wait: '30000' });
    expect(moved).toMatchObject({ status: 200, body: { status: 'completed', cached: true } });
    // As JSON, options as JSON values.
    const json = await fetch(`${stack.baseUrl}/v1/detections`, {
      method: 'POST',
      headers: { 'x-api-key': stack.apiKey, 'content-type': 'application/json' },
      body: JSON.stringify({ url: `${local.base}/bus.jpg`, wait: 30000, classes: ['person'], agnostic: false }),
    });
    const viewed = (await json.json()) as { status: string; detections: unknown; params: { classes: string[] } };
    expect({ status: json.status, params: viewed.params.classes }).toEqual({ status: 200, params: ['person'] });
    expect(Object.keys(labelCounts(viewed.detections, 0.25))).toEqual(['person']);
  });

  it('refuses loopback, private and metadata addresses not in URL_FETCH_ALLOW with 403 url_not_allowed, without connecting', async () => {
    const before = local.hits.length;
    for (const url of [`http://[::1]:${local.port}/bus.jpg`, `http://127.0.0.2:${local.port}/bus.jpg`, 'http://169.254.169.254/latest/meta-data/', `http://0.0.0.0:${local.port}/bus.jpg`, 'http://[::ffff:10.0.0.1]/x']) {
      const answer = await submit({ url });
      expect({ url, status: answer.status, code: answer.body.error?.code }).toEqual({ url, status: 403, code: 'url_not_allowed' });
    }
    expect(local.hits.length).toBe(before);
  });

  it('refuses a redirect to a private or metadata address', async () => {
    for (const path of ['/to-metadata', '/to-private']) {
      const answer = await submit({ url: `${local.base}${path}` });
      expect({ path, status: answer.status, code: answer.body.error?.code }).toEqual({ path, status: 403, code: 'url_not_allowed' });
    }
  });

  it('answers 422 url_fetch_failed with the reason: too large, too slow, an error status', async () => {
    const cases: [string, RegExp][] = [
      ['/big.jpg', /more than 1000000 bytes/],
      ['/slow.jpg', /within 1500 ms/],
      ['/missing.jpg', /HTTP 404/],
    ];
    for (const [path, reason] of cases) {
      const answer = await submit({ url: `${local.base}${path}` });
      expect({ path, status: answer.status, code: answer.body.error?.code }).toEqual({ path, status: 422, code: 'url_fetch_failed' });
      expect(answer.body.error?.message).toMatch(reason);
    }
    const dns = await submit({ url: 'http://argus-test-host-that-does-not-exist.invalid/x.jpg' });
    expect(dns).toMatchObject({ status: 422, body: { error: { code: 'url_fetch_failed', message: expect.stringMatching(/does not resolve/) } } });
  });

  it('takes http and https only, and one image at a time', async () => {
    expect(await submit({ url: 'ftp://example.com/x.jpg' })).toMatchObject({ status: 400, body: { error: { code: 'validation_failed' } } });
    expect(await submit({ url: 'file:///etc/passwd' })).toMatchObject({ status: 400, body: { error: { code: 'validation_failed' } } });
    const form = new FormData();
    form.set('image', new Blob([new Uint8Array(photo('bus.jpg'))]), 'bus.jpg');
    form.set('url', `${local.base}/bus.jpg`);
    const both = await fetch(`${stack.baseUrl}/v1/detections`, { method: 'POST', body: form, headers: { 'x-api-key': stack.apiKey } });
    expect(both.status).toBe(400);
  });

  it('refuses a callbackUrl at a private address when it is given', async () => {
    const answer = await submit({ url: `${local.base}/bus.jpg`, callbackUrl: 'http://10.1.2.3/hook' });
    expect(answer).toMatchObject({ status: 403, body: { error: { code: 'url_not_allowed' } } });
  });

  it('posts a signed detection.completed webhook, and after a 500 delivers it again with the same webhook-id', async () => {
    const answer = await submit({ url: `${local.base}/bus.jpg`, callbackUrl: `${local.base}/hook/retry`, confidence: '0.3' });
    const id = String(answer.body['id']);
    const deliveries = await eventually(async () => {
      const seen = local.deliveries.filter((d) => d.path === '/hook/retry');
      return seen.length >= 2 ? seen : undefined;
    }, 30000);
    expect(deliveries.map((d) => d.answered)).toEqual([500, 204]);
    expect(deliveries[0]?.headers['webhook-id']).toBe(deliveries[1]?.headers['webhook-id']);
    for (const delivery of deliveries) {
      expect(delivery.headers['content-type']).toBe('application/json');
      const event = await verifyWebhook(WEBHOOK_SECRET, delivery.headers, delivery.body);
      expect(event.type).toBe('detection.completed');
      expect(event.data).toMatchObject({ id, status: 'completed', params: { confidence: 0.3 } });
    }
    // Signed with this secret only.
    await expect(verifyWebhook('whsec_d3Jvbmc=', deliveries[1]?.headers ?? {}, deliveries[1]?.body ?? '')).rejects.toMatchObject({ code: 'webhook_invalid_signature' });
    // Delivered once: nothing more comes.
    await new Promise((r) => setTimeout(r, 1500));
    expect(local.deliveries.filter((d) => d.path === '/hook/retry')).toHaveLength(2);
  });

  it('keeps a webhook its receiver never takes as a failed job, with the receiver\'s status in its reason', async () => {
    const answer = await submit({ url: `${local.base}/bus.jpg`, callbackUrl: `${local.base}/hook/down`, iou: '0.5' });
    const connection = stack.redis.duplicate();
    const webhooks = new Queue(QueueName.Webhooks, { connection, prefix: stack.prefix });
    try {
      const failed = await eventually(async () => (await webhooks.getFailed()).find((job) => (job.data as { event: { data: { id: string } } }).event.data.id === answer.body['id']), 30000, 200);
      expect(failed.attemptsMade).toBe(3);
      expect(failed.failedReason).toMatch(/HTTP 500/);
      expect(local.deliveries.filter((d) => d.path === '/hook/down')).toHaveLength(3);
    } finally {
      await webhooks.close();
      connection.disconnect();
    }
  });

  it('signs a CLI-made key\'s webhooks with that key\'s own secret, shown once when the key was created', async () => {
    const created = spawnSync(process.execPath, [join(workspaceRoot(), 'dist/apps/results/main.js'), 'keys', 'create', '--name', 'hooks', '--json'], {
      env: { PATH: process.env['PATH'] ?? '', ...stack.env },
      encoding: 'utf8',
    });
    expect(created.status).toBe(0);
    const { key, webhookSecret } = JSON.parse(created.stdout) as { key: string; webhookSecret: string };
    const answer = await submit({ url: `${local.base}/bus.jpg`, callbackUrl: `${local.base}/hook/own`, wait: '30000' }, key);
    expect(answer.status).toBe(200);
    const delivery = await eventually(async () => local.deliveries.find((d) => d.path === '/hook/own'), 30000);
    expect((await verifyWebhook(webhookSecret, delivery.headers, delivery.body)).data).toMatchObject({ id: answer.body['id'] });
    await expect(verifyWebhook(WEBHOOK_SECRET, delivery.headers, delivery.body)).rejects.toMatchObject({ code: 'webhook_invalid_signature' });
  });
});

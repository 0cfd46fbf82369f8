import { type Stack, startStack, streamUpload } from '@argus/testing';
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { call, eventually, keysCli, photo, upload } from './helpers';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('access: API keys, per-key limits, open operational routes, headers', () => {
  let stack: Stack;
  const opsKey = `ops-${randomUUID()}`;

  beforeAll(async () => {
    stack = await startStack({ label: 'auth', env: { API_KEY_CACHE_SECONDS: '1', CORS_ORIGINS: 'https://app.example' } });
    // A second, named key given only as its hash (how production should configure API_KEYS).
    await stack.stopApp('api-gateway');
    await stack.startApp('api-gateway', { API_KEYS: `${stack.apiKey},ops:sha256:${sha256(opsKey)}` });
  });
  afterAll(() => stack?.stop());

  const id = randomUUID();
  const protectedRoutes: [string, string][] = [
    ['POST', '/v1/detections'],
    ['GET', `/v1/detections/${id}`],
    ['GET', `/v1/detections/${id}/events`],
    ['GET', `/v1/detections/${id}/annotated`],
    ['GET', '/v1/models'],
    ['GET', '/v1/no-such-route'],
    ['GET', '/V1/MODELS'],
    ['POST', '/graphql'],
    ['GET', '/graphql'],
  ];

  it('answers 401 with a JSON error on every protected route without a valid key', async () => {
    const badCredentials: Record<string, string>[] = [{}, { 'x-api-key': 'wrong-key-0123456789' }, { authorization: `Basic ${Buffer.from(`user:${stack.apiKey}`).toString('base64')}` }, { authorization: 'Bearer' }];
    const seen: string[] = [];
    for (const [method, path] of protectedRoutes) {
      for (const headers of badCredentials) {
        const res = await fetch(`${stack.baseUrl}${path}`, { method, headers: { ...headers, 'content-type': 'application/json' }, ...(method === 'POST' ? { body: '{}' } : {}) });
        const body = (await res.json()) as { error?: { code?: string } };
        seen.push(`${method} ${path} ${Object.keys(headers).join('') || 'none'}: ${res.status} ${body.error?.code ?? '-'}`);
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="argus"/);
      }
    }
    expect(seen.filter((line) => !line.endsWith(': 401 unauthorized'))).toEqual([]);
  });

  it("refuses a stranger's 50 MB upload with 401 before reading it, on every route that takes a body, and reads none on open paths", async () => {
    const pid = stack.process('api-gateway')?.pid;
    const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) * 1024;
    const total = 50 * 1024 * 1024;
    const before = rss();
    const seen: string[] = [];
    for (const [path, type] of [
      ['/v1/detections', 'image/jpeg'],
      ['/v1/detections', 'multipart/form-data; boundary=xyz'],
      ['/graphql', 'application/json'],
      ['/graphql', 'multipart/form-data; boundary=xyz'],
      ['/nothing-here', 'image/jpeg'],
    ] as const) {
      const res = await streamUpload(new URL(path, stack.baseUrl), { 'content-type': type }, total);
      const code = (JSON.parse(res.body) as { error?: { code?: string } }).error?.code;
      seen.push(`${path} ${type.split(';')[0]}: ${res.status} ${code} ${res.sentAtAnswer < total ? 'before the body' : 'after the body'}`);
    }
    expect(seen).toEqual([
      '/v1/detections image/jpeg: 401 unauthorized before the body',
      '/v1/detections multipart/form-data: 401 unauthorized before the body',
      '/graphql application/json: 401 unauthorized before the body',
      '/graphql multipart/form-data: 401 unauthorized before the body',
      '/nothing-here image/jpeg: 404 not_found before the body',
    ]);
    // 250 MB were offered; not even one body's worth was kept
    expect(rss() - before).toBeLessThan(total);
  });

  it('answers OPTIONS on any path at once, without a key', async () => {
    for (const path of ['/v1/detections', '/graphql', '/v1/no-such-route', '/nothing-here', '/admin/queues']) {
      const res = await fetch(`${stack.baseUrl}${path}`, { method: 'OPTIONS', body: 'x'.repeat(200_000), headers: { 'content-type': 'application/json' } });
      expect([path, res.status]).toEqual([path, 204]);
    }
  });

  it('gives JSON bodies of the REST API a small limit (MAX_JSON_BODY_BYTES): 413 payload_too_large above it', async () => {
    const res = await call(stack, '/v1/models', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pad: 'x'.repeat(100 * 1024) }) });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ error: { code: 'payload_too_large', message: expect.stringContaining('MAX_JSON_BODY_BYTES') } });
  });

  it('accepts x-api-key, Authorization: Bearer, and a key configured by its sha256, and records who asked', async () => {
    expect((await fetch(`${stack.baseUrl}/v1/models`, { headers: { authorization: `Bearer ${stack.apiKey}` } })).status).toBe(200);
    expect((await fetch(`${stack.baseUrl}/v1/models`, { headers: { 'x-api-key': stack.apiKey } })).status).toBe(200);
    const res = await upload(stack, photo('zidane.jpg'), {}, '?wait=20000', { 'x-api-key': opsKey });
    expect(res.status).toBe(200);
    const row = await eventually(async () => {
      const r = await stack.query(`SELECT client_id FROM "${stack.schema}".detections WHERE id = $1`, [res.body['id']]);
      return r.rows[0] as { client_id: string } | undefined;
    });
    expect(row.client_id).toBe('cfg:ops');
  });

  it('serves only terse health on the public port, metrics and detailed health on the operations port, and leaves the page and docs open', async () => {
    for (const path of ['/health/live', '/health/ready']) {
      const res = await fetch(`${stack.baseUrl}${path}`);
      expect({ path, status: res.status, body: await res.json() }).toEqual({ path, status: 200, body: { status: 'ok' } });
    }
    // /metrics is not part of the public API: a key does not help, it is simply not there.
    expect((await call(stack, '/metrics')).status).toBe(404);
    expect((await fetch(`${stack.baseUrl}/metrics`)).status).toBe(404);
    const ops = await fetch(`${stack.opsUrl}/metrics`);
    expect({ status: ops.status, gauge: (await ops.text()).includes('argus_queue_jobs') }).toEqual({ status: 200, gauge: true });
    expect(await (await fetch(`${stack.opsUrl}/health/ready`)).json()).toMatchObject({ status: 'ok', checks: { redis: { ok: true } } });
    expect((await fetch(`${stack.opsUrl}/v1/models`, { headers: { 'x-api-key': stack.apiKey } })).status).toBe(404);
    for (const path of ['/', '/docs']) {
      expect({ path, unauthorized: (await fetch(`${stack.baseUrl}${path}`)).status === 401 }).toEqual({ path, unauthorized: false });
    }
  });

  it('manages keys in Postgres with the CLI: 403 for a priority the key may not use, 429 over its rate, 401 once revoked', async () => {
    const key = await keysCli(stack, 'create', '--name', 'batch client', '--priorities', 'normal,low', '--rate', '0.5', '--burst', '3');
    expect(key).toMatch(/^argus_[0-9a-f]{12}_/);
    const keyId = key.slice(6, 18);
    expect(await keysCli(stack, 'list')).toContain(keyId);

    const forbidden = await upload(stack, photo('zidane.jpg'), { priority: 'high' }, '', { 'x-api-key': key });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body).toMatchObject({ error: { code: 'forbidden' } });
    const allowed = await upload(stack, photo('zidane.jpg'), { priority: 'low' }, '?wait=20000', { 'x-api-key': key });
    expect(allowed.status).toBe(200);
    const row = await eventually(async () => {
      const r = await stack.query(`SELECT client_id FROM "${stack.schema}".detections WHERE id = $1`, [allowed.body['id']]);
      return r.rows[0] as { client_id: string } | undefined;
    });
    expect(row.client_id).toBe(`key:${keyId}`);

    // burst 3, two used above: one more gets through, then 429 with Retry-After (0.5/s: 2 s)
    expect((await call(stack, '/v1/models', { headers: { 'x-api-key': key } })).status).toBe(200);
    const limited = await call(stack, '/v1/models', { headers: { 'x-api-key': key } });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('2');
    expect(await limited.json()).toMatchObject({ error: { code: 'rate_limited' } });
    // other keys are not affected
    expect((await call(stack, '/v1/models')).status).toBe(200);

    await keysCli(stack, 'revoke', keyId);
    await new Promise((r) => setTimeout(r, 2500)); // API_KEY_CACHE_SECONDS=1, and a token back
    const revoked = await call(stack, '/v1/models', { headers: { 'x-api-key': key } });
    expect(revoked.status).toBe(401);
  });

  it('scopes Idempotency-Keys per client: the same key from two clients makes two requests', async () => {
    const idem = `idem-${randomUUID()}`;
    const a = await upload(stack, photo('bus.jpg'), {}, '', { 'idempotency-key': idem });
    const again = await upload(stack, photo('bus.jpg'), {}, '', { 'idempotency-key': idem });
    const b = await upload(stack, photo('bus.jpg'), {}, '', { 'idempotency-key': idem, 'x-api-key': opsKey });
    expect(again.body['id']).toBe(a.body['id']);
    expect(b.body['id']).not.toBe(a.body['id']);
  });

  it('answers 503, not 401, when a Postgres key cannot be checked, and keeps accepting keys it knows', async () => {
    const fresh = await keysCli(stack, 'create', '--name', 'fresh');
    const known = await keysCli(stack, 'create', '--name', 'known');
    expect((await call(stack, '/v1/models', { headers: { 'x-api-key': known } })).status).toBe(200);
    await stack.stopApp('results');
    try {
      await new Promise((r) => setTimeout(r, 1200)); // the known key's cache entry expires
      const unknown = await call(stack, '/v1/models', { headers: { 'x-api-key': fresh } });
      expect(unknown.status).toBe(503);
      expect(unknown.headers.get('retry-after')).toBeTruthy();
      expect((await call(stack, '/v1/models', { headers: { 'x-api-key': known } })).status).toBe(200);
      expect((await call(stack, '/v1/models')).status).toBe(200);
      // readiness stays 200 (results is not critical for the gateway) but says degraded
      const ready = await fetch(`${stack.opsUrl}/health/ready`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'degraded', checks: { redis: { ok: true }, results: { ok: false } } });
    } finally {
      await stack.startApp('results');
    }
    expect((await call(stack, '/v1/models', { headers: { 'x-api-key': fresh } })).status).toBe(200);
  });

  it('sends security headers, and CORS headers only to the configured origin', async () => {
    const res = await call(stack, '/v1/models', { headers: { origin: 'https://app.example' } });
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(res.headers.get('strict-transport-security')).toMatch(/max-age=/);
    expect(res.headers.get('x-powered-by')).toBeNull();
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(res.headers.get('access-control-expose-headers')).toMatch(/X-Correlation-Id/i);
    const other = await call(stack, '/v1/models', { headers: { origin: 'https://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    // a preflight needs no key
    const preflight = await fetch(`${stack.baseUrl}/v1/detections`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-api-key' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/x-api-key/);
  });

  it('turns GraphQL introspection off in production, with a strict Content-Security-Policy', async () => {
    const introspect = () =>
      call(stack, '/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __schema { queryType { name } } }' }) });
    const dev = (await (await introspect()).json()) as { data?: unknown; errors?: unknown[] };
    expect(dev.data).toEqual({ __schema: { queryType: { name: 'Query' } } });

    await stack.stopApp('api-gateway');
    await stack.startApp('api-gateway', { NODE_ENV: 'production' });
    try {
      const res = await introspect();
      const body = (await res.json()) as { data?: unknown; errors?: { message: string }[] };
      expect(body.data ?? null).toBeNull();
      expect(body.errors?.[0]?.message).toMatch(/introspection/i);
      const page = await call(stack, '/v1/models');
      expect(page.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
    } finally {
      await stack.stopApp('api-gateway');
      await stack.startApp('api-gateway');
    }
  });
});

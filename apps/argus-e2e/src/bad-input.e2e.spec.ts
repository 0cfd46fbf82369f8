import { scrape, type Stack, startStack, workspaceRoot } from '@argus/testing';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { call, eventually, photo, upload } from './helpers';

/** What one bad request must get: a status, and the error code in a JSON body. */
interface Case {
  name: string;
  send: () => Promise<Response>;
  status: number;
  code: string;
}

const MAX_IMAGE_BYTES = 2_000_000;

/** An SVG whose root element sits behind a byte-order mark, an XML declaration and a long comment (libvips would still find it). */
function svgWithPreamble(): Buffer {
  return Buffer.from(
    `\ufeff<?xml version="1.0" encoding="UTF-8"?>\n<!-- ${'padding '.repeat(640)} -->\n<svg xmlns="http://www.w3.org/2000/svg" width="640" height="480"><rect width="640" height="480" fill="#c00"/></svg>\n`,
  );
}

describe('bad input: every kind gets its own 4xx and a JSON error, and nothing crashes', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ label: 'badinput', env: { MAX_IMAGE_BYTES: String(MAX_IMAGE_BYTES) } });
  });
  afterAll(() => stack?.stop());

  /** A multipart upload with the stack's key; `parts` are [field, value, filename?]. */
  const multipart = (parts: [string, Blob | string, string?][], query = ''): Promise<Response> => {
    const form = new FormData();
    for (const [field, value, filename] of parts) {
      if (typeof value === 'string') form.append(field, value);
      else form.append(field, value, filename ?? 'upload');
    }
    return call(stack, `/v1/detections${query}`, { method: 'POST', body: form });
  };
  const blob = (bytes: Buffer) => new Blob([new Uint8Array(bytes)], { type: 'application/octet-stream' });
  const raw = (body: Buffer | string, contentType: string, query = ''): Promise<Response> =>
    call(stack, `/v1/detections${query}`, { method: 'POST', body: typeof body === 'string' ? body : new Uint8Array(body), headers: { 'content-type': contentType } });
  const jpeg = () => photo('zidane.jpg');

  const cases: Case[] = [
    { name: 'not an image (text)', send: () => multipart([['image', blob(Buffer.from('hello, this is not a picture at all\n'.repeat(20)))]]), status: 415, code: 'not_an_image' },
    { name: 'not an image (an ELF binary)', send: () => raw(Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46]), Buffer.alloc(2000)]), 'image/jpeg'), status: 415, code: 'not_an_image' },
    { name: 'SVG (XML declaration, BOM, a 5 KB comment before <svg)', send: () => multipart([['image', blob(svgWithPreamble())]]), status: 415, code: 'unsupported_image_type' },
    { name: 'SVG as a raw image/svg+xml body', send: () => raw(svgWithPreamble(), 'image/svg+xml'), status: 415, code: 'unsupported_image_type' },
    { name: 'gzip-compressed SVG (SVGZ)', send: () => multipart([['image', blob(gzipSync(svgWithPreamble()))]]), status: 415, code: 'unsupported_image_type' },
    { name: 'PDF', send: () => multipart([['image', blob(Buffer.from('%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n'))]]), status: 415, code: 'unsupported_image_type' },
    { name: 'truncated inside the header', send: () => multipart([['image', blob(jpeg().subarray(0, 300))]]), status: 422, code: 'truncated_image' },
    { name: 'empty raw body', send: () => raw(Buffer.alloc(0), 'image/jpeg'), status: 400, code: 'empty_image' },
    { name: 'zero-byte file field', send: () => multipart([['image', blob(Buffer.alloc(0))]]), status: 400, code: 'empty_image' },
    { name: 'huge dimensions (20000x14000, within the byte limit)', send: () => multipart([['image', blob(photo('synthetic-gray-20000x14000.jpg'))]]), status: 422, code: 'image_too_large' },
    { name: 'too large (multipart)', send: () => multipart([['image', blob(Buffer.concat([jpeg(), Buffer.alloc(MAX_IMAGE_BYTES)]))]]), status: 413, code: 'payload_too_large' },
    { name: 'too large (raw body)', send: () => raw(Buffer.concat([jpeg(), Buffer.alloc(MAX_IMAGE_BYTES)]), 'image/jpeg'), status: 413, code: 'payload_too_large' },
    { name: 'wrong content type (text/plain)', send: () => raw('just some text', 'text/plain'), status: 415, code: 'unsupported_image_type' },
    { name: 'wrong content type (JSON)', send: () => raw(JSON.stringify({ image: 'aGVsbG8=' }), 'application/json'), status: 415, code: 'unsupported_image_type' },
    { name: 'no content type, no body', send: () => call(stack, '/v1/detections', { method: 'POST' }), status: 400, code: 'missing_image' },
    {
      name: 'malformed multipart (garbage after the boundary)',
      send: () => raw('--xyz\r\nContent-Disposition: form-data; name="image"; filename="a"\r\n\r\nGARBAGE-WITHOUT-END', 'multipart/form-data; boundary=xyz'),
      status: 400,
      code: 'validation_failed',
    },
    { name: 'malformed multipart (no boundary)', send: () => raw('whatever', 'multipart/form-data'), status: 400, code: 'validation_failed' },
    { name: 'missing image field', send: () => multipart([['confidence', '0.5']]), status: 400, code: 'missing_image' },
    { name: 'file in the wrong field', send: () => multipart([['file', blob(jpeg())]]), status: 400, code: 'validation_failed' },
    { name: 'two files', send: () => multipart([['image', blob(jpeg())], ['image', blob(jpeg())]]), status: 400, code: 'validation_failed' },
    { name: 'unknown model', send: () => multipart([['image', blob(jpeg())], ['model', 'yolo-9000']]), status: 422, code: 'unknown_model' },
    { name: 'bad priority', send: () => multipart([['image', blob(jpeg())], ['priority', 'urgent']]), status: 400, code: 'validation_failed' },
    { name: 'confidence above 1', send: () => multipart([['image', blob(jpeg())], ['confidence', '1.5']]), status: 400, code: 'validation_failed' },
    { name: 'negative iou', send: () => multipart([['image', blob(jpeg())], ['iou', '-0.1']]), status: 400, code: 'validation_failed' },
    { name: 'threshold not a number', send: () => multipart([['image', blob(jpeg())], ['confidence', 'NaN']]), status: 400, code: 'validation_failed' },
    { name: 'maxDetections of 0', send: () => multipart([['image', blob(jpeg())], ['maxDetections', '0']]), status: 400, code: 'validation_failed' },
    { name: 'negative wait (query)', send: () => multipart([['image', blob(jpeg())]], '?wait=-5'), status: 400, code: 'validation_failed' },
    { name: 'zero deadline', send: () => multipart([['image', blob(jpeg())], ['deadlineMs', '0']]), status: 400, code: 'validation_failed' },
    { name: 'unknown field', send: () => multipart([['image', blob(jpeg())], ['colour', 'blue']]), status: 400, code: 'validation_failed' },
    { name: 'field given twice', send: () => multipart([['image', blob(jpeg())], ['confidence', '0.3'], ['confidence', '0.4']]), status: 400, code: 'validation_failed' },
    { name: 'SQL injection in the model name', send: () => multipart([['image', blob(jpeg())], ['model', "x'; DROP TABLE detections;--"]]), status: 400, code: 'validation_failed' },
    { name: 'path traversal in the model name', send: () => multipart([['image', blob(jpeg())], ['model', '../../etc/passwd']]), status: 400, code: 'validation_failed' },
    { name: 'script in the class filter', send: () => multipart([['image', blob(jpeg())], ['classes', '<script>alert(1)</script>']]), status: 422, code: 'unknown_class' },
    { name: 'SQL injection in a detection id', send: () => call(stack, `/v1/detections/${encodeURIComponent("1' OR '1'='1")}`), status: 404, code: 'not_found' },
    { name: 'Idempotency-Key too long', send: () => call(stack, '/v1/detections', { method: 'POST', body: formWith(jpeg()), headers: { 'idempotency-key': 'k'.repeat(300) } }), status: 400, code: 'validation_failed' },
    { name: 'unknown route under /v1', send: () => call(stack, '/v1/nothing-here'), status: 404, code: 'not_found' },
  ];

  it(`answers ${cases.length} kinds of bad input with the right 4xx and a JSON error, never a 5xx`, async () => {
    const inferenceBefore = stack.process('inference')?.pid;
    const seen: { name: string; status: number; code: unknown; json: boolean }[] = [];
    for (const c of cases) {
      const res = await c.send();
      const type = res.headers.get('content-type') ?? '';
      const body = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
      seen.push({ name: c.name, status: res.status, code: body?.error?.code, json: type.includes('application/json') && typeof body?.error?.message === 'string' });
    }
    expect(seen).toEqual(cases.map((c) => ({ name: c.name, status: c.status, code: c.code, json: true })));
    expect(seen.filter((s) => s.status >= 500)).toEqual([]);
    expect(stack.process('inference')?.pid).toBe(inferenceBefore);
  });

  it('refuses a JPEG cut in half (its header intact) with 422 and its code', async () => {
    const bytes = jpeg();
    const res = await upload(stack, bytes.subarray(0, Math.floor(bytes.length / 2)), {}, '?wait=20000');
    expect(res.status).toBe(422);
    expect(res.body['error']).toMatchObject({ code: expect.stringMatching(/^(truncated_image|corrupt_image)$/) });
  });

  it('echoes no injected correlation id: a bad X-Correlation-Id is replaced', async () => {
    const res = await call(stack, '/v1/models', { headers: { 'x-correlation-id': '<script>x</script>' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-correlation-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('keeps the workers running: inference still ready, and a good image still completes', async () => {
    const ready = await fetch(`http://127.0.0.1:${stack.ports.inference}/health/ready`);
    expect(ready.status).toBe(200);
    const good = await upload(stack, photo('bus.jpg'), {}, '?wait=20000');
    expect(good.status).toBe(200);
    expect(good.body).toMatchObject({ status: 'completed' });
    const row = await eventually(async () => {
      const r = await stack.query(`SELECT status FROM "${stack.schema}".detections WHERE id = $1`, [good.body['id']]);
      return r.rows[0] as { status: string } | undefined;
    });
    expect(row.status).toBe('completed');
  });

  it('counts the refusals by error code on /metrics', async () => {
    const text = await (await fetch(`${stack.opsUrl}/metrics`)).text();
    for (const code of ['not_an_image', 'payload_too_large', 'image_too_large', 'unsupported_image_type', 'validation_failed', 'unknown_model']) {
      expect(text).toMatch(new RegExp(`argus_api_errors_total\\{code="${code}",status="\\d+",app="api-gateway"\\} [1-9]`));
    }
    expect(text).toMatch(/argus_http_requests_total\{method="POST",route="\/v1\/detections",status="415",app="api-gateway"\} [1-9]/);
  });

  it('follows one correlation id from the request through every app into the row and back', async () => {
    const correlationId = `bad-input-${Date.now()}`;
    const res = await upload(stack, photo('darknet-dog.jpg'), {}, '?wait=20000', { 'x-correlation-id': correlationId });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-correlation-id')).toBe(correlationId);
    const row = await eventually(async () => {
      const r = await stack.query(`SELECT correlation_id FROM "${stack.schema}".detections WHERE id = $1`, [res.body['id']]);
      return r.rows[0] as { correlation_id: string } | undefined;
    });
    expect(row.correlation_id).toBe(correlationId);
    // structured JSON lines carrying it, in each app's log: accepted, job done, row persisted
    const logs = join(workspaceRoot(), 'test-artifacts', 'logs', stack.schema);
    const lines = await eventually(async () => {
      const found = (['api-gateway', 'inference', 'results'] as const).map((app) =>
        readFileSync(join(logs, `${app}.log`), 'utf8')
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as { correlationId?: string; msg?: string; app: string })
          .filter((l) => l.correlationId === correlationId)
          .map((l) => `${l.app}: ${l.msg ?? ''}`),
      );
      return found.every((f) => f.length > 0) ? found.flat() : undefined;
    }, 10000);
    expect(lines).toEqual(expect.arrayContaining(['api-gateway: accepted', 'inference: job done', 'results: row persisted']));
  });

  it('serves every metric the Grafana dashboard charts', async () => {
    const dashboard = readFileSync(join(workspaceRoot(), 'monitoring', 'grafana', 'argus-dashboard.json'), 'utf8');
    const exprs = [...dashboard.matchAll(/"expr": "((?:[^"\\]|\\.)*)"/g)].map((m) => m[1] ?? '');
    expect(exprs.length).toBeGreaterThan(20);
    const names = new Set(exprs.flatMap((e) => [...e.matchAll(/\b((?:argus|process|nodejs)_[a-z0-9_]+)/g)].map((m) => (m[1] ?? '').replace(/_(bucket|sum|count)$/, ''))));
    const scrapes = await Promise.all([stack.ports.gatewayOps, stack.ports.inference, stack.ports.results].map((port) => scrape(`http://127.0.0.1:${port}/metrics`)));
    const declared = new Set(scrapes.flatMap((text) => [...text.matchAll(/^# HELP (\S+)/gm)].map((m) => m[1])));
    expect([...names].filter((name) => !declared.has(name))).toEqual([]);
  });
});

function formWith(bytes: Buffer): FormData {
  const form = new FormData();
  form.set('image', new Blob([new Uint8Array(bytes)]), 'upload');
  return form;
}

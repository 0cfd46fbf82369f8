import { streamUpload } from '@argus/testing';
import express from 'express';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { sendApiError } from '../access/respond';
import { ApiError } from '../errors/api-error';
import { answerOptions, bodyKind, bodyParsers, lingerUnreadBodies, UNREAD_BODY_LINGER_MS } from './body-limits';

describe(bodyKind.name, () => {
  it('reads an image only on POST /v1/detections, GraphQL JSON on /graphql, small JSON on other API routes, nothing elsewhere', () => {
    const cases: [string, string, string][] = [
      ['POST', '/v1/detections', 'image'],
      ['POST', '/V1/Detections/', 'image'],
      ['GET', '/v1/detections', 'none'],
      ['POST', '/graphql', 'graphql'],
      ['POST', '/GraphQL/', 'graphql'],
      ['POST', '/v1/detections/abc', 'json'],
      ['POST', '/v1/models', 'json'],
      ['POST', '/', 'none'],
      ['POST', '/docs', 'none'],
      ['POST', '/health/ready', 'none'],
      ['POST', '/admin/queues/api/queues', 'none'],
      ['POST', '/nothing-here', 'none'],
    ];
    expect(cases.map(([method, path]) => [method, path, bodyKind(method, path)])).toEqual(cases);
  });
});

/** The gateway's order in miniature: linger, OPTIONS, a key check, then the body parsers. */
async function serve(): Promise<{ url: URL; server: Server; reads: string[] }> {
  const reads: string[] = [];
  const app = express();
  app.use(lingerUnreadBodies);
  app.use(answerOptions);
  app.use((req, res, next) => (req.header('x-api-key') === 'good' ? next() : sendApiError(res, new ApiError('unauthorized', 'no key'))));
  app.use(bodyParsers({ maxImageBytes: 256 * 1024, maxJsonBytes: 1024 }));
  app.use((req, res) => {
    reads.push(`${req.method} ${req.path} ${Buffer.isBuffer(req.body) ? req.body.length : JSON.stringify(req.body ?? null)}`);
    res.json({ ok: true });
  });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return { url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`), server, reads };
}

describe('body limits over HTTP', () => {
  let server: Server;
  let url: URL;
  let reads: string[];
  beforeEach(async () => ({ server, url, reads } = await serve()));
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('answers a stranger 401 before the rest of a 50 MB body is sent, and never hands it to a parser', async () => {
    const total = 50 * 1024 * 1024;
    const res = await streamUpload(new URL('/v1/detections', url), { 'content-type': 'image/jpeg' }, total);
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body)).toEqual({ error: { code: 'unauthorized', message: 'no key' } });
    expect(res.sentAtAnswer).toBeLessThan(total);
    expect(reads).toEqual([]);
  });

  it('cuts a refused upload that goes on sending, rather than reading it for as long as it likes', async () => {
    // 64 KiB every 100 ms: 4 MiB take about six seconds, well past the linger
    expect(UNREAD_BODY_LINGER_MS).toBeLessThan(6000);
    const res = await streamUpload(new URL('/v1/detections', url), { 'content-type': 'image/jpeg' }, 4 * 1024 * 1024, { pauseMs: 100 });
    expect([res.status, res.cut]).toEqual([401, true]);
  });

  it('answers OPTIONS on any path at once, without a key and without reading a body', async () => {
    for (const path of ['/v1/detections', '/graphql', '/nothing-here']) {
      const res = await fetch(new URL(path, url), { method: 'OPTIONS', body: 'x'.repeat(100_000), headers: { 'content-type': 'application/json' } });
      expect([path, res.status, res.headers.get('allow')]).toEqual([path, 204, 'GET, HEAD, POST, OPTIONS']);
    }
    expect(reads).toEqual([]);
  });

  it('gives each route its own limit: images up to MAX_IMAGE_BYTES, other JSON small, 413 payload_too_large beyond', async () => {
    const key = { 'x-api-key': 'good' };
    const post = (path: string, type: string, body: string | Buffer) => fetch(new URL(path, url), { method: 'POST', headers: { ...key, 'content-type': type }, body });
    expect((await post('/v1/detections', 'image/png', Buffer.alloc(200 * 1024))).status).toBe(200);
    const image = await post('/v1/detections', 'image/png', Buffer.alloc(300 * 1024));
    expect([image.status, await image.json()]).toEqual([413, { error: { code: 'payload_too_large', message: expect.stringContaining('MAX_IMAGE_BYTES') } }]);
    expect((await post('/v1/anything', 'application/json', JSON.stringify({ a: 'x'.repeat(900) }))).status).toBe(200);
    const json = await post('/v1/anything', 'application/json', JSON.stringify({ a: 'x'.repeat(2000) }));
    expect([json.status, await json.json()]).toEqual([413, { error: { code: 'payload_too_large', message: expect.stringContaining('MAX_JSON_BODY_BYTES, 1024 bytes') } }]);
    // a JSON body sent where images go is not read at all (the controller answers 415 for its type)
    await post('/v1/detections', 'application/json', JSON.stringify({ a: 'x'.repeat(300 * 1024) }));
    // and an open path reads nothing, whatever it is sent
    await post('/docs', 'image/png', Buffer.alloc(300 * 1024));
    expect(reads).toEqual(['POST /v1/detections 204800', 'POST /v1/anything {"a":"' + 'x'.repeat(900) + '"}', 'POST /v1/detections null', 'POST /docs null']);
  });
});

import { ArgusClient } from '@argus/client';
import { openApiProblems, schemaValidator, type Stack, startStack, workspaceRoot } from '@argus/testing';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { call, photo } from './helpers';

/**
 * Routes the gateway serves that are not REST: the web page and its assets (GraphQL is logged
 * apart), and the operators' models API (admin basic auth, like Bull Board; docs/api.md).
 */
const NOT_REST = new Set(['get /', 'get /web/{file}', 'get /admin/models', 'post /admin/models/{selector}/{action}']);

describe('OpenAPI at /docs and /docs-json (real stack)', () => {
  let stack: Stack;
  let document: { openapi: string; paths: Record<string, Record<string, unknown>> };

  beforeAll(async () => {
    stack = await startStack({ label: 'docs' }); // no ADMIN_USER / ADMIN_PASSWORD: the board is off
    const res = await fetch(`${stack.baseUrl}/docs-json`); // open: the document, not the API
    expect(res.status).toBe(200);
    document = (await res.json()) as typeof document;
  });
  afterAll(() => stack?.stop());

  it('is a valid OpenAPI 3.0 document', () => {
    expect(document.openapi).toMatch(/^3\.0\.\d+$/);
    expect(openApiProblems(document)).toEqual([]);
  });

  it('lists every REST route the running gateway mapped', () => {
    // Nest logs each route it maps at start; that list is the gateway's, not this test's.
    const log = readFileSync(join(workspaceRoot(), 'test-artifacts', 'logs', stack.schema, 'api-gateway.log'), 'utf8');
    const mapped = [...log.matchAll(/"context":"RouterExplorer","msg":"Mapped \{([^,]+), (\w+)\} route"/g)].map(
      ([, path, method]) => `${(method ?? '').toLowerCase()} ${(path ?? '').replace(/:(\w+)/g, '{$1}')}`,
    );
    const rest = [...new Set(mapped)].filter((r) => !NOT_REST.has(r));
    expect(rest).toEqual(expect.arrayContaining(['post /v1/detections', 'get /v1/detections/{id}', 'get /v1/detections/{id}/events', 'get /v1/detections/{id}/annotated', 'get /v1/models']));
    const documented = Object.entries(document.paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method} ${path}`));
    expect(documented.sort()).toEqual(rest.sort());
  });

  it('describes what the API really answers', async () => {
    const client = new ArgusClient({ baseUrl: stack.baseUrl, apiKey: stack.apiKey });
    const posted = await call(stack, '/v1/detections?wait=20000', { method: 'POST', body: new Uint8Array(photo('bus.jpg')), headers: { 'content-type': 'image/jpeg' } });
    expect(posted.status).toBe(200);
    const detection = await posted.json();
    expect(schemaValidator(document, 'DetectionView')(detection)).toEqual([]);
    const id = (detection as { id: string }).id;
    expect(schemaValidator(document, 'DetectionView')(await client.get(id))).toEqual([]);
    expect(schemaValidator(document, 'ModelList')(await (await call(stack, '/v1/models')).json())).toEqual([]);
    expect(schemaValidator(document, 'ErrorBody')(await (await call(stack, '/v1/detections/nope')).json())).toEqual([]);
    for await (const event of client.events(id)) {
      if (event.type === 'status') expect(schemaValidator(document, 'DetectionStatusEvent')({ id: event.id, status: event.status, at: event.at })).toEqual([]);
    }
    expect(schemaValidator(document, 'Readiness')(await (await fetch(`${stack.baseUrl}/health/ready`)).json())).toEqual([]);
  });

  it('serves Swagger UI from the gateway itself, nothing from another host', async () => {
    const page = await fetch(`${stack.baseUrl}/docs`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('swagger-ui');
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] ?? '');
    expect(assets.filter((a) => /^(https?:)?\/\//.test(a))).toEqual([]);
    for (const asset of assets.filter((a) => /\.(js|css)$/.test(a))) {
      const res = await fetch(new URL(asset, `${stack.baseUrl}/docs`)); // as the browser resolves it from /docs
      expect([asset, res.status]).toEqual([asset, 200]);
    }
    const init = await (await fetch(`${stack.baseUrl}/docs/swagger-ui-init.js`)).text();
    expect(init).toContain('"validatorUrl": null');
  });

  it('keeps Bull Board off (404) when no admin credentials are configured', async () => {
    const res = await fetch(`${stack.baseUrl}/admin/queues`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 'not_found' } });
  });
});

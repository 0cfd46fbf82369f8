import { buildConfig } from '@argus/config';
import { DetectionListQuerySchema } from '@argus/contracts';
import { MetricsModule } from '@argus/observability';
import { openApiProblems, schemaValidator } from '@argus/testing';
import type { INestApplication, Type } from '@nestjs/common';
import type { OpenAPIObject } from '@nestjs/swagger';
import type { OperationObject, ResponseObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { Test } from '@nestjs/testing';
import type { Express } from 'express';
import { AppModule } from '../app.module';
import { BatchFieldsSchema, SubmitFieldsSchema } from '../detections/submit-params';
import { buildOpenApiDocument, hasSuccessSchema, operationsOf } from './openapi';

/** Routes served that are not REST API: the web page and its assets, and the operators' models API (admin basic auth, like Bull Board; docs/api.md). */
const NOT_REST = new Set(['get /', 'get /web/{file}', 'get /admin/models', 'post /admin/models/{selector}/{action}']);

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
}

/** Every route Express serves, as "method /path" with {param} templates. */
function expressRoutes(app: INestApplication): string[] {
  const express = app.getHttpAdapter().getInstance() as Express & { router: { stack: Layer[] } };
  return express.router.stack.flatMap(({ route }: Layer) =>
    route ? Object.keys(route.methods).map((m) => `${m} ${route.path.replace(/:(\w+)/g, '{$1}')}`) : [],
  );
}

describe('the OpenAPI document', () => {
  let app: INestApplication;
  let document: OpenAPIObject;

  beforeAll(async () => {
    // The gateway's real controllers (every feature module's), with stand-ins for what they call:
    // only routes matter here.
    const modules = (AppModule.forRoot(buildConfig({ NODE_ENV: 'test' })).imports ?? []).filter((m): m is Type => typeof m === 'function');
    const controllers = modules.flatMap((m) => (Reflect.getMetadata('controllers', m) as Type[] | undefined) ?? []);
    const moduleRef = await Test.createTestingModule({ imports: [MetricsModule.forRoot('test', { route: false })], controllers })
      .useMocker(() => ({}))
      .compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    document = buildOpenApiDocument(app);
  });
  afterAll(() => app?.close());

  it('is a valid OpenAPI 3.0 document', () => {
    expect(document.openapi).toMatch(/^3\.0\./);
    expect(openApiProblems(document)).toEqual([]);
  });

  it('lists every REST route the app serves, and nothing else', () => {
    const served = expressRoutes(app).filter((r) => !NOT_REST.has(r));
    const documented = operationsOf(document).map(([key]) => key);
    expect(served.length).toBeGreaterThanOrEqual(7);
    expect(documented.sort()).toEqual([...new Set(served)].sort());
  });

  it('gives every operation an id, a summary and a success schema', () => {
    for (const [key, operation] of operationsOf(document)) {
      expect([key, typeof operation.operationId, typeof operation.summary, hasSuccessSchema(operation)]).toEqual([key, 'string', 'string', true]);
    }
    const ids = operationsOf(document).map(([, op]) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('asks for the API key on every /v1 operation and documents its errors with the error shape', () => {
    for (const [key, operation] of operationsOf(document).filter(([k]) => k.includes(' /v1/'))) {
      expect([key, operation.security]).toEqual([key, [{ apiKey: [] }, { bearer: [] }]]);
      const unauthorized = operation.responses['401'] as ResponseObject | undefined;
      expect([key, unauthorized?.content?.['application/json']?.schema]).toEqual([key, { $ref: '#/components/schemas/ErrorBody' }]);
    }
  });

  it('describes the submission: multipart with the file (or its URL) and every option, or a raw image body', () => {
    const submit = document.paths['/v1/detections']?.post as OperationObject;
    const body = submit.requestBody as { content: Record<string, { schema: unknown }> };
    expect(body.content['multipart/form-data']?.schema).toEqual({ $ref: '#/components/schemas/SubmitForm' });
    expect(Object.keys(body.content).filter((t) => t.startsWith('image/'))).not.toHaveLength(0);
    expect(body.content['application/json']?.schema).toEqual({ $ref: '#/components/schemas/SubmitJson' });
    const form = document.components?.schemas?.['SubmitForm'] as { properties: Record<string, unknown> };
    expect(Object.keys(form.properties).sort()).toEqual(['image', 'url', ...Object.keys(SubmitFieldsSchema.shape)].sort());
    const query = (submit.parameters ?? []).flatMap((p) => ('in' in p && p.in === 'query' ? [p.name] : []));
    expect(query.sort()).toEqual(Object.keys(SubmitFieldsSchema.shape).sort());
  });

  it('describes a batch: files and URLs with a detection\'s options but wait, and its views', () => {
    const submit = document.paths['/v1/batches']?.post as OperationObject;
    const body = submit.requestBody as { content: Record<string, { schema: unknown }> };
    expect(Object.keys(body.content)).toEqual(['multipart/form-data']);
    const form = document.components?.schemas?.['BatchForm'] as { properties: Record<string, unknown> };
    expect(Object.keys(form.properties).sort()).toEqual(['images', 'url', ...Object.keys(BatchFieldsSchema.shape)].sort());
    expect(Object.keys(submit.responses)).toContain('202');
    const results = document.paths['/v1/batches/{id}/results']?.get as OperationObject;
    expect(Object.keys((results.responses['200'] as ResponseObject).content ?? {}).sort()).toEqual(['application/json', 'application/x-ndjson', 'text/csv']);
    const batch = schemaValidator(document, 'BatchView');
    const view = { id: 'b', status: 'active', total: 2, completed: 1, failed: 0, items: [{ id: 'd1', image: 'a.jpg' }], createdAt: 'x', completedAt: null };
    expect(batch(view)).toEqual([]);
    expect(batch({ ...view, status: 'done' })).not.toEqual([]);
  });

  it('documents listing and deleting detections with the list\'s parameters and both answers of a delete', () => {
    const list = document.paths['/v1/detections']?.get as OperationObject;
    const query = (list.parameters ?? []).flatMap((p) => ('in' in p && p.in === 'query' ? [p.name] : []));
    expect(query.sort()).toEqual(Object.keys(DetectionListQuerySchema.shape).sort());
    const remove = document.paths['/v1/detections/{id}']?.delete as OperationObject;
    expect(Object.keys(remove.responses)).toEqual(expect.arrayContaining(['200', '204', '404', '409']));
  });

  it('has schemas that accept what the API returns and refuse what it never returns', () => {
    const detection = schemaValidator(document, 'DetectionView');
    const view = {
      id: 'x',
      status: 'completed',
      priority: 'normal',
      model: { name: 'yolox-nano', version: 'abc' },
      image: { width: 10, height: 10, sha256: 's' },
      params: { confidence: 0.25, iou: 0.45, classes: null, maxDetections: 300, agnostic: false },
      detections: [{ label: 'bus', classId: 5, score: 0.9, box: { x1: 0, y1: 0, x2: 1, y2: 1 } }],
      timings: { total: 12 },
      cached: false,
      error: null,
      provider: 'cpu',
      correlationId: null,
      createdAt: '2025-01-01T00:00:00.000Z',
      completedAt: null,
    };
    expect(detection(view)).toEqual([]);
    expect(detection({ ...view, status: 'done' })).not.toEqual([]);
    expect(schemaValidator(document, 'ErrorBody')({ error: { code: 'not_found', message: 'm' } })).toEqual([]);
    expect(schemaValidator(document, 'ErrorBody')({ error: { code: 'oops', message: 'm' } })).not.toEqual([]);
  });
});

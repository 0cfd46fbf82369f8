import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import type { OperationObject, PathItemObject, ResponsesObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { API_KEY_SCHEME, BEARER_SCHEME } from './decorators';
import { openApiSchemas, ref } from './schemas';

/** Where the UI and the JSON document are served. */
export const DOCS_PATH = 'docs';
export const DOCS_JSON_PATH = 'docs-json';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/**
 * Operations whose controllers live outside this app's reach for decorators (libs/observability,
 * the models controller): their documentation, merged into what Nest's scan found.
 */
const EXTERNAL_OPERATIONS: Readonly<Record<string, OperationObject>> = {
  'get /v1/models': {
    operationId: 'listModels',
    summary: 'The models served',
    description:
      'Version, family, input size, batching and the execution provider in use, with the number of live inference processes, and every version with its traffic weight and state; models no process could load are listed apart, with why.',
    tags: ['models'],
    responses: { '200': { description: 'The models.', content: { 'application/json': { schema: ref('ModelList') } } } },
  },
  'get /health/live': {
    operationId: 'liveness',
    summary: 'The process is up',
    tags: ['health'],
    responses: { '200': { description: 'Alive.', content: { 'application/json': { schema: ref('Liveness') } } } },
  },
  'get /health/ready': {
    operationId: 'readiness',
    summary: 'Ready to take work (Redis and apps/results answer)',
    tags: ['health'],
    responses: {
      '200': { description: 'Ready (status ok, or degraded when a non-critical check fails).', content: { 'application/json': { schema: ref('Readiness') } } },
      '503': { description: 'Not ready; the operations port (GATEWAY_METRICS_PORT) says why.', content: { 'application/json': { schema: ref('Readiness') } } },
    },
  },
};

/** Errors any /v1 route may answer before its handler runs. */
const GATE_ERRORS: Readonly<Record<string, string>> = { '401': 'unauthorized', '429': 'rate_limited', '503': 'unavailable' };

/** Every operation of a document as [key "method /path", operation]. */
export function operationsOf(document: OpenAPIObject): [string, OperationObject][] {
  const out: [string, OperationObject][] = [];
  for (const [path, item] of Object.entries(document.paths) as [string, PathItemObject][]) {
    for (const method of METHODS) {
      const operation = item[method];
      if (operation) out.push([`${method} ${path}`, operation]);
    }
  }
  return out;
}

/** True when an operation says what a success looks like (a 2xx with content, or a 204). */
export function hasSuccessSchema(operation: OperationObject): boolean {
  return Object.entries(operation.responses as ResponsesObject).some(
    ([status, response]) => status === '204' || (/^2\d\d$/.test(status) && response !== undefined && 'content' in response && Object.keys(response.content ?? {}).length > 0),
  );
}

/**
 * Completes what Nest's scan produced: schemas from the zod contracts, operations whose
 * controllers cannot carry decorators, raw image bodies as binary, the API key on every /v1
 * operation, and the error shape for every error response.
 */
export function completeDocument(document: OpenAPIObject): OpenAPIObject {
  document.components = { ...document.components, schemas: { ...document.components?.schemas, ...openApiSchemas() } };
  for (const [key, operation] of operationsOf(document)) {
    const external = EXTERNAL_OPERATIONS[key];
    if (external) {
      Object.assign(operation, { ...external, parameters: operation.parameters ?? [], responses: { ...external.responses, ...withoutBareDefaults(operation.responses) } });
    }
    const path = key.slice(key.indexOf(' ') + 1);
    if (path.startsWith('/v1/')) {
      operation.security = [{ [API_KEY_SCHEME]: [] }, { [BEARER_SCHEME]: [] }];
      // What the API key check, the rate limit and the Redis gate in front of every /v1 route may answer.
      for (const [status, codes] of Object.entries(GATE_ERRORS)) {
        operation.responses[status] ??= { description: `Error: ${codes}`, content: { 'application/json': { schema: ref('ErrorBody') } } };
      }
    }
    // Errors are JSON whatever the success type (an SSE or image route's errors included).
    for (const [status, response] of Object.entries(operation.responses as ResponsesObject)) {
      if (Number(status) >= 400 && response && 'content' in response && response.content) {
        const schema = Object.values(response.content)[0]?.schema;
        if (schema) response.content = { 'application/json': { schema } };
      }
    }
    const content = operation.requestBody && 'content' in operation.requestBody ? operation.requestBody.content : undefined;
    if (content) {
      for (const type of Object.keys(content)) {
        if (type.startsWith('image/')) content[type] = { schema: { type: 'string', format: 'binary' } };
        // A JSON submission names its image by URL (the bytes go as a file or a raw body).
        if (type === 'application/json' && operation.operationId === 'submitDetection') content[type] = { schema: ref('SubmitJson') };
      }
    }
  }
  return document;
}

/** Nest adds `200: {description: ''}` to every operation it scans; ours replace it. */
function withoutBareDefaults(responses: ResponsesObject): ResponsesObject {
  return Object.fromEntries(Object.entries(responses).filter(([, r]) => r !== undefined && !('description' in r && r.description === '' && !('content' in r))));
}

/** The OpenAPI document of the gateway's REST API, generated from its controllers and contracts. */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Argus API')
    .setDescription(
      'Object detection behind a durable, prioritised queue. Every /v1 route needs an API key: `x-api-key: <key>` or ' +
        '`Authorization: Bearer <key>`. Errors are `{ "error": { "code", "message" } }`; clients switch on `code`. ' +
        'GraphQL is at /graphql (docs/api.md).',
    )
    .setVersion('1')
    .addApiKey({ type: 'apiKey', in: 'header', name: 'x-api-key' }, API_KEY_SCHEME)
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'The API key as a bearer token.' }, BEARER_SCHEME)
    .build();
  return completeDocument(SwaggerModule.createDocument(app, config, { operationIdFactory: (controller, method) => `${controller}_${method}` }));
}

/** Serves the UI at /docs (swagger-ui-dist from node_modules: nothing from a CDN) and the document at /docs-json. */
export function setupDocs(app: INestApplication): OpenAPIObject {
  const document = buildOpenApiDocument(app);
  SwaggerModule.setup(DOCS_PATH, app, document, {
    jsonDocumentUrl: DOCS_JSON_PATH,
    yamlDocumentUrl: 'docs-yaml',
    customSiteTitle: 'Argus API',
    // validatorUrl null: the UI would otherwise send the document to validator.swagger.io.
    swaggerOptions: { persistAuthorization: true, validatorUrl: null, displayRequestDuration: true },
  });
  return document;
}

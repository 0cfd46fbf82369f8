import {
  BatchResultSchema,
  BatchViewSchema,
  DetectionStatusSchema,
  DetectionViewSchema,
  ErrorInfoSchema,
  MODEL_FAMILIES,
  PrioritySchema,
  SERVED_MODEL_STATES,
  SERVED_VERSION_STATES,
} from '@argus/contracts';
import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { z } from 'zod';
import { MAX_DEADLINE_MS } from '@argus/contracts';

/** A `$ref` to a schema of {@link openApiSchemas}. */
export function ref(name: keyof ReturnType<typeof openApiSchemas>): { $ref: string } {
  return { $ref: `#/components/schemas/${name}` };
}

function fromZod(schema: z.ZodType): SchemaObject {
  return z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'output', unrepresentable: 'any' }) as SchemaObject;
}

/** The `status` message of /v1/detections/:id/events. */
export const DetectionStatusEventSchema = z.object({
  id: z.string(),
  status: DetectionStatusSchema,
  /** When the gateway saw the change. */
  at: z.string(),
});

/**
 * The options of a submission, as multipart form fields (or query parameters with a raw body).
 * Text, because that is what forms carry; the gateway parses and checks them
 * (apps/api-gateway/src/detections/submit-params.ts).
 */
export const SUBMIT_OPTIONS: Readonly<Record<string, SchemaObject>> = {
  model: {
    type: 'string',
    description: 'Model name (GET /v1/models), or name@version to pin one version (otherwise the traffic weights pick it); default DEFAULT_MODEL.',
    example: 'yolox-nano',
  },
  priority: { type: 'string', enum: [...PrioritySchema.options], default: 'normal' },
  confidence: { type: 'number', minimum: 0, maximum: 1, description: 'Score threshold; default the model\'s or DEFAULT_CONFIDENCE.' },
  iou: { type: 'number', minimum: 0, maximum: 1, description: 'NMS IoU threshold; default DEFAULT_IOU.' },
  classes: { type: 'string', description: 'Comma-separated labels or class ids to keep, e.g. "person,bus".', example: 'person,bus' },
  maxDetections: { type: 'integer', minimum: 1, maximum: 1000, description: 'Most boxes returned; default DEFAULT_MAX_DETECTIONS.' },
  agnostic: { type: 'boolean', description: 'Class-agnostic NMS (one box per place whatever its label).', default: false },
  deadlineMs: {
    type: 'integer',
    minimum: 1,
    maximum: MAX_DEADLINE_MS,
    description: 'Milliseconds from now after which the job, if still waiting, fails with deadline_exceeded instead of running.',
  },
  callbackUrl: {
    type: 'string',
    format: 'uri',
    description:
      'Where a signed webhook (Standard Webhooks) is posted when the detection ends: {"type": "detection.completed" | "detection.failed", "data": DetectionView}. ' +
      'http or https, at an address the deployment allows (url_not_allowed otherwise); the key needs a webhook secret.',
  },
  wait: {
    type: 'integer',
    minimum: 0,
    description: 'Milliseconds to wait for the result before answering 202 (capped at WAIT_MAX_MS); 0 answers at once.',
    default: 0,
  },
};

/** A batch's options: a single detection's, but `wait`; its callbackUrl gets one `batch.completed` webhook. */
export const BATCH_OPTIONS: Readonly<Record<string, SchemaObject>> = Object.fromEntries(
  Object.entries(SUBMIT_OPTIONS)
    .filter(([name]) => name !== 'wait')
    .map(([name, schema]) =>
      name === 'callbackUrl'
        ? [name, { ...schema, description: 'Where one signed webhook {"type": "batch.completed", "data": BatchView} is posted once every image has ended (same rules as a detection\'s).' }]
        : [name, schema],
    ),
);

/** One version of a model as GET /v1/models lists it. */
const MODEL_VERSION: SchemaObject = {
  type: 'object',
  required: ['version', 'digest', 'weight', 'state', 'reason', 'workers'],
  properties: {
    version: { type: 'string', example: '2' },
    digest: { type: 'string', nullable: true, description: 'sha256 of the model file and of the model.json settings it runs with; null when unreadable.' },
    weight: { type: 'number', description: 'Relative share of the requests that do not name a version.' },
    state: { type: 'string', enum: [...SERVED_VERSION_STATES], description: 'The best state any live inference process reports; offline: none holds it.' },
    reason: { type: 'string', nullable: true, description: 'Why it does not serve (failed, unloaded, draining); null while it serves.' },
    workers: { type: 'integer', description: 'Inference processes serving this version now.' },
  },
};

/** Every schema the document names, generated from the zod contracts where they exist. */
export function openApiSchemas() {
  return {
    DetectionView: fromZod(DetectionViewSchema),
    DetectionStatusEvent: fromZod(DetectionStatusEventSchema),
    ErrorBody: fromZod(z.object({ error: ErrorInfoSchema })),
    SubmitForm: {
      type: 'object',
      description: 'Exactly one of `image` and `url`.',
      properties: {
        image: { type: 'string', format: 'binary', description: 'The photo: JPEG, PNG, WebP, GIF, TIFF or AVIF, up to MAX_IMAGE_BYTES.' },
        url: {
          type: 'string',
          format: 'uri',
          description:
            'Instead of `image`: an http(s) URL Argus fetches (at most 3 redirects, MAX_IMAGE_BYTES, URL_FETCH_TIMEOUT_MS). Loopback, private, link-local and metadata ' +
            'addresses are refused (403 url_not_allowed) unless URL_FETCH_ALLOW lists them; a failed fetch is 422 url_fetch_failed.',
        },
        ...SUBMIT_OPTIONS,
      },
    } satisfies SchemaObject,
    SubmitJson: {
      type: 'object',
      required: ['url'],
      description: 'A submission by URL as JSON: `url` and the same options (numbers and booleans as JSON values, `classes` as an array or a comma-separated string).',
      properties: {
        url: { type: 'string', format: 'uri', description: 'An http(s) URL of the photo, fetched as the form\'s `url`.' },
        ...SUBMIT_OPTIONS,
      },
    } satisfies SchemaObject,
    BatchForm: {
      type: 'object',
      description: 'At least one image: files in `images`, URLs in `url` (both repeatable), at most BATCH_MAX_IMAGES and BATCH_MAX_BYTES in all.',
      properties: {
        images: { type: 'array', items: { type: 'string', format: 'binary' }, description: 'Photos, each named by its file name.' },
        url: { type: 'array', items: { type: 'string', format: 'uri' }, description: 'Image URLs, fetched like a detection\'s `url`.' },
        ...BATCH_OPTIONS,
      },
    } satisfies SchemaObject,
    DetectionPage: {
      type: 'object',
      required: ['items', 'nextCursor'],
      properties: {
        items: { type: 'array', items: { $ref: '#/components/schemas/DetectionView' } },
        nextCursor: { type: 'string', nullable: true, description: 'Pass as `cursor` for the next page; null on the last page.' },
      },
    } satisfies SchemaObject,
    BatchView: fromZod(BatchViewSchema),
    BatchResult: fromZod(BatchResultSchema),
    ModelList: {
      type: 'object',
      required: ['models', 'unavailable'],
      properties: {
        models: {
          type: 'array',
          items: {
            type: 'object',
            required: [
              'name',
              'version',
              'family',
              'input',
              'dynamicBatch',
              'maxBatchSize',
              'provider',
              'requestedProviders',
              'classes',
              'workers',
              'updatedAt',
              'state',
              'reason',
              'versions',
            ],
            properties: {
              name: { type: 'string', example: 'yolox-nano' },
              version: {
                type: 'string',
                description: 'The primary version (most traffic), which the other fields describe: its folder name, or the first 12 hex digits of the model file\'s sha256.',
              },
              family: { type: 'string', enum: [...MODEL_FAMILIES] },
              input: { type: 'object', required: ['width', 'height'], properties: { width: { type: 'integer' }, height: { type: 'integer' } } },
              dynamicBatch: { type: 'boolean' },
              maxBatchSize: { type: 'integer' },
              provider: { type: 'string', description: 'The execution provider that actually runs the model (cpu, cuda).' },
              requestedProviders: { type: 'array', items: { type: 'string' } },
              classes: { type: 'integer', description: 'Number of class labels.' },
              workers: { type: 'integer', description: 'Inference processes serving the model now (by heartbeat).' },
              updatedAt: { type: 'string' },
              state: { type: 'string', enum: [...SERVED_MODEL_STATES], description: 'offline: no live inference process holds it (its jobs wait).' },
              reason: { type: 'string', nullable: true, description: 'Why it does not serve; null while it serves.' },
              versions: { type: 'array', items: MODEL_VERSION, description: 'Every version, oldest first.' },
            },
          },
        },
        unavailable: {
          type: 'array',
          description: 'Models the inference processes report but could never load: broken, loading for the first time, or unloaded.',
          items: {
            type: 'object',
            required: ['name', 'state', 'reason', 'versions'],
            properties: {
              name: { type: 'string' },
              state: { type: 'string', enum: [...SERVED_MODEL_STATES] },
              reason: { type: 'string', nullable: true },
              versions: { type: 'array', items: MODEL_VERSION },
            },
          },
        },
      },
    } satisfies SchemaObject,
    Liveness: { type: 'object', required: ['status'], properties: { status: { type: 'string', enum: ['ok'] } } } satisfies SchemaObject,
    Readiness: {
      type: 'object',
      required: ['status'],
      description: 'On the public port only the status; the operations port (GATEWAY_METRICS_PORT) adds each check.',
      properties: {
        status: { type: 'string', enum: ['ok', 'degraded', 'unavailable'] },
        checks: {
          type: 'object',
          additionalProperties: { type: 'object', required: ['ok'], properties: { ok: { type: 'boolean' }, detail: {} } },
        },
      },
    } satisfies SchemaObject,
  };
}

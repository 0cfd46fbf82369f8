import type { ErrorCode } from '@argus/contracts';
import { applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiHeader, ApiOperation, ApiParam, ApiProduces, ApiQuery, ApiResponse, ApiSecurity, ApiTags } from '@nestjs/swagger';
import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { ERROR_STATUS } from '../errors/api-error';
import { ref, SUBMIT_OPTIONS } from './schemas';

/** The names of the two ways to send an API key (see openapi.ts). */
export const API_KEY_SCHEME = 'apiKey';
export const BEARER_SCHEME = 'bearer';

/** Error responses for the given codes, one per HTTP status, each naming its codes. */
export function ApiErrors(...codes: ErrorCode[]) {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of ['unauthorized', 'rate_limited', ...codes] as ErrorCode[]) {
    const status = ERROR_STATUS[code];
    const list = byStatus.get(status) ?? [];
    if (!list.includes(code)) list.push(code);
    byStatus.set(status, list);
  }
  return applyDecorators(
    ...[...byStatus.entries()].map(([status, list]) =>
      ApiResponse({ status, description: `Error: ${list.join(', ')}`, schema: ref('ErrorBody') }),
    ),
  );
}

/** A /v1 controller: tag, and the API key (x-api-key, or Authorization: Bearer). */
export function ApiV1(tag: string) {
  return applyDecorators(ApiTags(tag), ApiSecurity(API_KEY_SCHEME), ApiBearerAuth(BEARER_SCHEME));
}

const idParam = ApiParam({ name: 'id', description: 'The detection id (from the submission).', schema: { type: 'string', format: 'uuid' } });

/** What a submission (one image or a batch) may be refused with. */
const SUBMIT_ERRORS: readonly ErrorCode[] = [
  'validation_failed',
  'missing_image',
  'empty_image',
  'forbidden',
  'url_not_allowed',
  'idempotency_key_reused',
  'payload_too_large',
  'not_an_image',
  'unknown_model',
  'unknown_class',
  'truncated_image',
  'url_fetch_failed',
  'no_models',
  'overloaded',
];

/** POST /v1/detections */
export function ApiSubmitDetection() {
  return applyDecorators(
    ApiOperation({
      operationId: 'submitDetection',
      summary: 'Submit a photo for detection',
      description:
        'Send multipart/form-data with the file in field `image` (or an image URL in field `url`) and options as fields, a JSON body with `url` and options, ' +
        'or a raw `image/*` body with options as query parameters. ' +
        'Answers 200 with the boxes when the work is done within `wait` ms (or cached), else 202 with the id and a Location to poll or follow ' +
        '(`/v1/detections/{id}/events`). A detection that fails while you wait answers with its error\'s status and the detection (status `failed`).',
    }),
    // openapi.ts turns the image/* body into binary and the JSON body into SubmitJson; the form is SubmitForm.
    ApiConsumes('multipart/form-data', 'application/json', 'image/*'),
    ApiBody({ schema: ref('SubmitForm') }),
    ...Object.entries(SUBMIT_OPTIONS).map(([name, schema]) =>
      ApiQuery({ name, required: false, schema, description: `${schema.description ?? name} (query form: with a raw image/* body)` }),
    ),
    ApiHeader({ name: 'Idempotency-Key', required: false, description: '1-255 visible ASCII characters; a repeat with the same key and request returns the first one.' }),
    ApiResponse({ status: 200, description: 'Done (or answered from the cache).', schema: ref('DetectionView') }),
    ApiResponse({ status: 202, description: 'Accepted and queued; poll the Location.', schema: ref('DetectionView'), headers: { Location: { schema: { type: 'string' } } } }),
    ApiErrors(...SUBMIT_ERRORS),
  );
}

/** GET /v1/detections */
export function ApiListDetections() {
  return applyDecorators(
    ApiOperation({
      operationId: 'listDetections',
      summary: 'The caller\'s detections, newest first, a page at a time',
      description:
        'Detections that have ended (completed, failed, canceled) as persisted, the caller\'s own (every client\'s for an admin key). Keyset pagination: ' +
        'pass the page\'s `nextCursor` as `cursor` for the next one (null on the last page). Unknown or malformed parameters answer 400 validation_failed.',
    }),
    ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 }, description: 'Page size.' }),
    ApiQuery({ name: 'cursor', required: false, schema: { type: 'string' }, description: 'The previous page\'s `nextCursor`.' }),
    ApiQuery({ name: 'status', required: false, schema: { type: 'string', enum: ['completed', 'failed', 'canceled', 'queued', 'active'] }, description: 'Only this status (queued and active ones are not listed yet: none).' }),
    ApiQuery({ name: 'model', required: false, schema: { type: 'string' }, description: 'Only this model.' }),
    ApiQuery({ name: 'priority', required: false, schema: { type: 'string', enum: ['high', 'normal', 'low'] } }),
    ApiQuery({ name: 'since', required: false, schema: { type: 'string', format: 'date-time' }, description: 'Created at or after (ISO-8601).' }),
    ApiQuery({ name: 'until', required: false, schema: { type: 'string', format: 'date-time' }, description: 'Created before (ISO-8601).' }),
    ApiResponse({ status: 200, description: 'A page.', schema: ref('DetectionPage') }),
    ApiErrors('validation_failed', 'unavailable'),
  );
}

/** DELETE /v1/detections/:id */
export function ApiDeleteDetection() {
  return applyDecorators(
    ApiOperation({
      operationId: 'deleteDetection',
      summary: 'Cancel a waiting detection, or erase a finished one',
      description:
        'A detection still queued is canceled: 200 with its view (status `canceled`); its job is removed unless identical requests of other callers share it ' +
        '(then only this request leaves it); it is listed as canceled. A finished one is erased: 204, and its row, its cached result and its photo are gone ' +
        '(a repeat of the same photo runs the model again). A running one answers 409 not_ready (Retry-After); so does one whose end is being saved.',
    }),
    idParam,
    ApiResponse({ status: 200, description: 'Canceled.', schema: ref('DetectionView') }),
    ApiResponse({ status: 204, description: 'Erased.' }),
    ApiResponse({ status: 409, description: 'Error: not_ready (running, or its end is being saved; Retry-After)', schema: ref('ErrorBody') }),
    ApiErrors('not_found', 'unavailable'),
  );
}

const batchIdParam = ApiParam({ name: 'id', description: 'The batch id (from the submission).', schema: { type: 'string', format: 'uuid' } });

/** POST /v1/batches */
export function ApiSubmitBatch() {
  return applyDecorators(
    ApiOperation({
      operationId: 'submitBatch',
      summary: 'Submit a batch of photos (files and/or URLs)',
      description:
        'multipart/form-data: files in repeated fields `images`, image URLs in repeated fields `url` (files first, then URLs, each in the order sent), and a ' +
        'single detection\'s options (not `wait`). Every image is checked, and every URL fetched, before anything is accepted: one bad image refuses the batch, ' +
        'naming it. Each image becomes a detection (cache hits and identical work in flight are shared as for single detections). 202 with the batch and ' +
        'a Location; follow `GET /v1/batches/{id}`, then read `GET /v1/batches/{id}/results`. With `Idempotency-Key`, a repeat returns the same batch.',
    }),
    ApiConsumes('multipart/form-data'),
    ApiBody({ schema: ref('BatchForm') }),
    ApiHeader({ name: 'Idempotency-Key', required: false, description: '1-255 visible ASCII characters; a repeat with the same key and batch returns the first one.' }),
    ApiResponse({ status: 202, description: 'Accepted.', schema: ref('BatchView'), headers: { Location: { schema: { type: 'string' } } } }),
    ApiResponse({ status: 415, description: 'Error: validation_failed (not multipart/form-data)', schema: ref('ErrorBody') }),
    ApiErrors(...SUBMIT_ERRORS),
  );
}

/** GET /v1/batches/:id */
export function ApiGetBatch() {
  return applyDecorators(
    ApiOperation({
      operationId: 'getBatch',
      summary: 'A batch\'s progress',
      description: '`completed` and `failed` (failed or canceled) images out of `total`; `status` queued, active, then completed once every image has ended.',
    }),
    batchIdParam,
    ApiResponse({ status: 200, description: 'The batch.', schema: ref('BatchView') }),
    ApiErrors('not_found', 'unavailable'),
  );
}

/** GET /v1/batches/:id/results */
export function ApiBatchResults() {
  return applyDecorators(
    ApiOperation({
      operationId: 'batchResults',
      summary: 'A finished batch\'s results, streamed',
      description:
        '`format=jsonl` (default): one BatchResult per line (a DetectionView with `image` the file name or URL, its size in `imageInfo`). `csv`: one row per ' +
        'box (image, detection_id, status, model, model_version, label, class_id, score, x1, y1, x2, y2, error_code); an image without boxes gets one row. ' +
        '`coco`: one COCO document (images, annotations with `bbox` [x, y, w, h] and `score`, categories numbered class id + 1). Images erased since are left out. ' +
        '409 not_ready until every image has ended.',
    }),
    batchIdParam,
    ApiQuery({ name: 'format', required: false, schema: { type: 'string', enum: ['jsonl', 'csv', 'coco'], default: 'jsonl' } }),
    ApiProduces('application/x-ndjson', 'text/csv', 'application/json'),
    ApiResponse({
      status: 200,
      description: 'The results file.',
      content: {
        'application/x-ndjson': { schema: { type: 'string', description: 'One BatchResult JSON object per line.' } },
        'text/csv': { schema: { type: 'string' } },
        'application/json': { schema: { type: 'object', description: 'A COCO document: info, images, annotations, categories.' } },
      },
    }),
    ApiResponse({ status: 409, description: 'Error: not_ready (images still running; Retry-After)', schema: ref('ErrorBody') }),
    ApiErrors('validation_failed', 'not_found', 'unavailable'),
  );
}


/** GET /v1/detections/:id */
export function ApiGetDetection() {
  return applyDecorators(
    ApiOperation({ operationId: 'getDetection', summary: 'A detection at any stage (queued, active, completed, failed, canceled)' }),
    idParam,
    ApiResponse({ status: 200, description: 'The detection.', schema: ref('DetectionView') }),
    ApiErrors('not_found', 'unavailable'),
  );
}

const eventStream: SchemaObject = {
  type: 'string',
  description:
    'text/event-stream. `status` messages (data: DetectionStatusEvent, ids 1, 2, ...) at once and at each change; then one `result` ' +
    'message (data: DetectionView, id `result`) and the stream ends. Comment lines (`: heartbeat`) every EVENTS_HEARTBEAT_MS. ' +
    'An `error` message (data: ErrorBody) ends the stream early if the gateway loses track of the job.',
  example:
    'retry: 3000\n\nid: 1\nevent: status\ndata: {"id":"...","status":"queued","at":"..."}\n\nid: 2\nevent: status\ndata: {"id":"...","status":"active","at":"..."}\n\n' +
    'id: 3\nevent: status\ndata: {"id":"...","status":"completed","at":"..."}\n\nid: result\nevent: result\ndata: {"id":"...","status":"completed",...}\n\n',
};

/** GET /v1/detections/:id/events */
export function ApiDetectionEvents() {
  return applyDecorators(
    ApiOperation({
      operationId: 'detectionEvents',
      summary: 'Follow a detection live (Server-Sent Events)',
      description:
        'Works for requests that share a job with identical ones and for cache hits (completed at once). A client reconnecting with ' +
        '`Last-Event-ID: result` gets 204 (it has everything). Browsers: EventSource cannot send the API key header; read the stream with fetch().',
    }),
    idParam,
    ApiHeader({ name: 'Last-Event-ID', required: false, description: 'Sent by EventSource on reconnect.' }),
    ApiProduces('text/event-stream'),
    ApiResponse({ status: 200, description: 'The event stream.', content: { 'text/event-stream': { schema: eventStream } } }),
    ApiResponse({ status: 204, description: 'The client already has the result (Last-Event-ID: result).' }),
    ApiErrors('not_found', 'unavailable'),
  );
}

/** GET /v1/detections/:id/annotated */
export function ApiAnnotated() {
  const binary: SchemaObject = { type: 'string', format: 'binary' };
  return applyDecorators(
    ApiOperation({
      operationId: 'annotatedImage',
      summary: 'The photo with its labelled boxes drawn',
      description:
        'PNG or JPEG, chosen by `format` or else the Accept header (for */*: JPEG for a JPEG original, PNG otherwise). EXIF orientation is ' +
        'applied, so the image is the displayed size and the boxes match. The photo is kept IMAGE_RETENTION_SECONDS after its job ends: ' +
        '410 image_expired after that. A detection still in progress answers 409 unless `wait` lets it finish; a failed one answers its error.',
    }),
    idParam,
    ApiQuery({ name: 'format', required: false, schema: { type: 'string', enum: ['png', 'jpeg', 'jpg'] } }),
    ApiQuery({ name: 'wait', required: false, schema: { type: 'integer', minimum: 0 }, description: 'Milliseconds to wait for a detection in progress (capped at WAIT_MAX_MS).' }),
    ApiResponse({ status: 200, description: 'The annotated image.', content: { 'image/png': { schema: binary }, 'image/jpeg': { schema: binary } } }),
    ApiResponse({ status: 406, description: 'Error: validation_failed (Accept allows neither image/png nor image/jpeg)', schema: ref('ErrorBody') }),
    ApiResponse({ status: 409, description: 'Error: not_ready (the detection is still queued or active; Retry-After)', schema: ref('ErrorBody') }),
    ApiErrors('validation_failed', 'not_found', 'image_expired', 'corrupt_image', 'inference_failed', 'unavailable'),
  );
}

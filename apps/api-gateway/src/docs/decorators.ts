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

/** POST /v1/detections */
export function ApiSubmitDetection() {
  return applyDecorators(
    ApiOperation({
      operationId: 'submitDetection',
      summary: 'Submit a photo for detection',
      description:
        'Send multipart/form-data with the file in field `image` and options as fields, or a raw `image/*` body with options as query parameters. ' +
        'Answers 200 with the boxes when the work is done within `wait` ms (or cached), else 202 with the id and a Location to poll or follow ' +
        '(`/v1/detections/{id}/events`). A detection that fails while you wait answers with its error\'s status and the detection (status `failed`).',
    }),
    // openapi.ts turns the image/* body into binary; the form is SubmitForm.
    ApiConsumes('multipart/form-data', 'image/*'),
    ApiBody({ schema: ref('SubmitForm') }),
    ...Object.entries(SUBMIT_OPTIONS).map(([name, schema]) =>
      ApiQuery({ name, required: false, schema, description: `${schema.description ?? name} (query form: with a raw image/* body)` }),
    ),
    ApiHeader({ name: 'Idempotency-Key', required: false, description: '1-255 visible ASCII characters; a repeat with the same key and request returns the first one.' }),
    ApiResponse({ status: 200, description: 'Done (or answered from the cache).', schema: ref('DetectionView') }),
    ApiResponse({ status: 202, description: 'Accepted and queued; poll the Location.', schema: ref('DetectionView'), headers: { Location: { schema: { type: 'string' } } } }),
    ApiErrors('validation_failed', 'missing_image', 'empty_image', 'idempotency_key_reused', 'payload_too_large', 'not_an_image', 'unknown_model', 'unknown_class', 'truncated_image', 'no_models', 'overloaded'),
  );
}

/** GET /v1/detections/:id */
export function ApiGetDetection() {
  return applyDecorators(
    ApiOperation({ operationId: 'getDetection', summary: 'A detection at any stage (queued, active, completed, failed)' }),
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

import { ArgusError } from './errors';
import { abortedError, DEFAULT_RETRY, errorOf, readJson, type RetryOptions, sleep, Transport } from './http';
import { readLines } from './lines';
import { parseServerSentEvents } from './sse';
import type { BatchResult, BatchView, DetectionPage, DetectionStatus, DetectionView, ErrorBody, ModelSummary, Priority } from './types';

export interface ArgusClientOptions {
  /** The gateway, e.g. `http://localhost:3000`. */
  baseUrl: string;
  /** The API key, sent on every request. */
  apiKey?: string;
  /** How the key is sent: `x-api-key: <key>` (default) or `Authorization: Bearer <key>`. */
  authScheme?: 'x-api-key' | 'bearer';
  /** Extra headers on every request. */
  headers?: Record<string, string>;
  /** A fetch implementation (default: the global one). */
  fetch?: typeof fetch;
  /**
   * Longest one attempt of a call may take, reading the answer included (default 60000). Calls
   * that ask the server to wait (`wait`) get that much more.
   */
  timeoutMs?: number;
  /** Retries of 429 and 503 answers (and of network errors for calls safe to repeat); `false` turns them off. */
  retry?: Partial<RetryOptions> | false;
}

/** What every call takes. */
export interface CallOptions {
  /** Aborts the call (the error's code is `aborted`). */
  signal?: AbortSignal;
  /** Overrides the client's `timeoutMs` for this call. */
  timeoutMs?: number;
  /** Sent as `X-Correlation-Id`, so the server's logs of this call carry your id. */
  correlationId?: string;
}

/** An image: bytes in memory (a Buffer is a Uint8Array) or a Blob (a File in browsers). */
export type ImageInput = Uint8Array | ArrayBuffer | Blob;

/** An image the server fetches itself. */
export interface ImageUrl {
  url: string | URL;
}

/** How a detection is run; absent options take the model's or the service's defaults. */
export interface DetectionOptions {
  /** A model name, or `name@version` to pin a version. */
  model?: string;
  priority?: Priority;
  confidence?: number;
  iou?: number;
  /** Labels or class ids to keep. */
  classes?: readonly (string | number)[];
  maxDetections?: number;
  agnostic?: boolean;
  /** Milliseconds from now after which the job, if still waiting, fails with deadline_exceeded. */
  deadlineMs?: number;
  /** Where the server posts a signed webhook when the work ends (see {@link verifyWebhook}). */
  callbackUrl?: string;
}

/** The options of {@link ArgusClient.submit}. */
export interface SubmitOptions extends DetectionOptions, CallOptions {
  /** Milliseconds the server waits for the result before answering (capped by the server). */
  wait?: number;
  /**
   * Makes a repeated submission return the first one instead of doing the work twice. The client
   * makes a random one per call when absent, and sends the same one on each retry.
   */
  idempotencyKey?: string;
  /** File name sent with the image (default: the File's name, else `image`). */
  filename?: string;
}

/** What a submission answered: the HTTP status (200 done, 202 queued, 4xx/5xx failed while waiting) and the detection. */
export interface Submitted {
  status: number;
  detection: DetectionView;
}

/** A message of a detection's event stream. */
export type DetectionStreamEvent =
  | { type: 'status'; id: string; status: DetectionStatus; at: string }
  | { type: 'result'; detection: DetectionView };

/** An annotated image. */
export interface AnnotatedImage {
  data: Uint8Array;
  contentType: string;
}

/** Filters of {@link ArgusClient.list}. */
export interface ListOptions extends CallOptions {
  status?: DetectionStatus;
  model?: string;
  /** Only detections created at or after this time. */
  since?: Date | string;
  /** Page size (the server caps it). */
  limit?: number;
}

/** What {@link ArgusClient.delete} did: canceled a detection still waiting, or erased a finished one. */
export type Deleted = { outcome: 'canceled'; detection: DetectionView } | { outcome: 'erased'; detection: null };

/** The options of {@link ArgusClient.submitBatch}. */
export interface BatchOptions extends DetectionOptions, CallOptions {
  /**
   * Lets the server recognise a repeated submission of the batch; with one, the client also
   * retries the submission after a network error or a timeout (without one it never does, since
   * a lost answer may hide a batch that was created).
   */
  idempotencyKey?: string;
}

/** A batch results file as the server streams it. */
export interface BatchResultsDownload {
  contentType: string;
  /** Read it to the end or cancel it: the connection stays open until then. */
  body: ReadableStream<Uint8Array>;
}

/** Statuses after which a detection changes no more. */
const FINAL: ReadonlySet<DetectionStatus> = new Set(['completed', 'failed', 'canceled']);

/** A typed client of the Argus REST API. */
export class ArgusClient {
  private readonly transport: Transport;
  private readonly timeoutMs: number;
  private readonly retry: RetryOptions;

  constructor(options: ArgusClientOptions) {
    const auth: Record<string, string> = !options.apiKey ? {} : options.authScheme === 'bearer' ? { authorization: `Bearer ${options.apiKey}` } : { 'x-api-key': options.apiKey };
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.retry = options.retry === false ? { ...DEFAULT_RETRY, maxAttempts: 1 } : { ...DEFAULT_RETRY, ...options.retry };
    this.transport = new Transport({
      baseUrl: options.baseUrl.replace(/\/+$/, ''),
      headers: { ...options.headers, ...auth },
      fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
      retry: this.retry,
    });
  }

  /**
   * Submits an image (multipart field `image`), or a URL the server fetches (field `url`). A
   * detection that failed while waiting is returned (status `failed`, with its `error`), not
   * thrown; refusals of the request throw {@link ArgusError}. Retried submissions carry the same
   * Idempotency-Key, so they never make two detections.
   */
  async submit(image: ImageInput | ImageUrl, options: SubmitOptions = {}): Promise<Submitted> {
    const idempotencyKey = options.idempotencyKey ?? crypto.randomUUID();
    const body = () => {
      const form = new FormData();
      if (isImageUrl(image)) form.set('url', String(image.url));
      else form.set('image', toBlob(image), options.filename ?? fileName(image) ?? 'image');
      setOptionFields(form, { ...detectionFields(options), wait: options.wait?.toString() });
      return form;
    };
    const { value } = await this.transport.send(
      {
        ...this.callBase(options, options.wait),
        method: 'POST',
        path: '/v1/detections',
        headers: { ...this.callHeaders(options), 'idempotency-key': idempotencyKey },
        body,
        idempotent: true,
      },
      async (res) => {
        const json = await readJson(res);
        if (isDetectionView(json)) return { status: res.status, detection: json };
        throw errorOf(res, json);
      },
    );
    return value;
  }

  /** A detection at any stage. */
  async get(id: string, options: CallOptions = {}): Promise<DetectionView> {
    return this.getJson(`/v1/detections/${encodeURIComponent(id)}`, isDetectionView, options);
  }

  /** One page of detections, newest first; pass the page's `nextCursor` as `cursor` for the next. */
  async listPage(options: ListOptions & { cursor?: string | null } = {}): Promise<DetectionPage> {
    const query = new URLSearchParams();
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    if (options.cursor) query.set('cursor', options.cursor);
    if (options.status) query.set('status', options.status);
    if (options.model) query.set('model', options.model);
    if (options.since !== undefined) query.set('since', options.since instanceof Date ? options.since.toISOString() : options.since);
    return this.getJson(`/v1/detections${query.size > 0 ? `?${query.toString()}` : ''}`, isDetectionPage, options);
  }

  /** Every detection that matches, newest first, fetching pages as the loop goes. */
  async *list(options: ListOptions = {}): AsyncGenerator<DetectionView, void, undefined> {
    let cursor: string | null = null;
    for (;;) {
      const page: DetectionPage = await this.listPage({ ...options, cursor });
      yield* page.items;
      if (page.nextCursor === null) return;
      if (page.nextCursor === cursor) throw new ArgusError({ code: 'bad_response', message: 'The server returned the same cursor twice; stopping the listing' });
      cursor = page.nextCursor;
    }
  }

  /**
   * Cancels a detection still waiting (outcome `canceled`, with its view) or erases a finished
   * one (outcome `erased`). A running detection cannot be deleted: {@link ArgusError} `not_ready`.
   * Not retried after a network error: a repeat of a cancel that went through would erase.
   */
  async delete(id: string, options: CallOptions = {}): Promise<Deleted> {
    const { value } = await this.transport.send(
      { ...this.callBase(options), method: 'DELETE', path: `/v1/detections/${encodeURIComponent(id)}`, headers: this.callHeaders(options), idempotent: false },
      async (res): Promise<Deleted> => {
        if (res.status === 204) {
          await res.body?.cancel().catch(() => undefined);
          return { outcome: 'erased', detection: null };
        }
        const json = await readJson(res);
        if (res.ok && isDetectionView(json)) return { outcome: 'canceled', detection: json };
        throw errorOf(res, json);
      },
    );
    return value;
  }

  /** The models served. */
  async models(options: CallOptions = {}): Promise<ModelSummary[]> {
    const body = await this.getJson('/v1/models', (json): json is { models: ModelSummary[] } => isObject(json) && Array.isArray(json['models']), options);
    return body.models;
  }

  /**
   * A detection's status changes as they happen (Server-Sent Events), then its final view; the
   * iteration ends after the `result` event. Breaking out of the loop closes the stream. Only
   * opening the stream is retried; a stream that breaks throws (see {@link waitFor}).
   */
  async *events(id: string, options: CallOptions = {}): AsyncGenerator<DetectionStreamEvent, void, undefined> {
    const { value: res, close } = await this.transport.send(
      {
        ...this.callBase(options),
        method: 'GET',
        path: `/v1/detections/${encodeURIComponent(id)}/events`,
        headers: { ...this.callHeaders(options), accept: 'text/event-stream' },
        idempotent: true,
      },
      streamOf,
      true,
    );
    try {
      for await (const message of parseServerSentEvents(res.body)) {
        const data = parseJson(message.data, res);
        if (message.event === 'status') {
          yield { type: 'status', ...(data as { id: string; status: DetectionStatus; at: string }) };
        } else if (message.event === 'result') {
          yield { type: 'result', detection: data as DetectionView };
          return;
        } else if (message.event === 'error') {
          const error = (data as Partial<ErrorBody> | null)?.error;
          throw new ArgusError({ code: error?.code ?? 'bad_response', message: error?.message ?? 'The event stream failed', status: res.status, correlationId: res.headers.get('x-correlation-id') });
        }
      }
      throw new ArgusError({ code: 'bad_response', message: 'The event stream ended before the result', status: res.status, correlationId: res.headers.get('x-correlation-id') });
    } catch (error) {
      if (options.signal?.aborted) throw abortedError(options.signal.reason);
      if (error instanceof ArgusError) throw error;
      throw new ArgusError({ code: 'network_error', message: `The event stream broke: ${error instanceof Error ? error.message : String(error)}`, cause: error });
    } finally {
      close();
    }
  }

  /**
   * Resolves once the detection ends (completed, failed or canceled): follows its events, and
   * polls if the stream breaks. Throws {@link ArgusError} `client_timeout` after `timeoutMs`
   * (default 60000), `aborted` when `signal` fires.
   */
  async waitFor(id: string, options: { timeoutMs?: number; pollMs?: number; signal?: AbortSignal } = {}): Promise<DetectionView> {
    const timeoutMs = options.timeoutMs ?? 60_000;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    const onAbort = () => controller.abort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const ended = () => {
      if (options.signal?.aborted) return abortedError(options.signal.reason);
      return new ArgusError({ code: 'client_timeout', message: `Detection ${id} did not end within ${timeoutMs} ms` });
    };
    try {
      try {
        for await (const event of this.events(id, { signal: controller.signal })) if (event.type === 'result') return event.detection;
      } catch (error) {
        if (controller.signal.aborted) throw ended();
        // A refusal about the detection itself (unknown id, no access) is final; anything else
        // (the stream broke, a proxy that does not stream) falls back to polling.
        if (error instanceof ArgusError && error.status >= 400 && error.status < 500 && error.status !== 429) throw error;
      }
      for (;;) {
        const view = await this.get(id, { signal: controller.signal }).catch((error: unknown) => {
          throw controller.signal.aborted ? ended() : error;
        });
        if (FINAL.has(view.status)) return view;
        await sleep(options.pollMs ?? 250, controller.signal).catch(() => {
          throw ended();
        });
      }
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Submits and waits for the end: the finished detection. */
  async detect(image: ImageInput | ImageUrl, options: SubmitOptions & { waitTimeoutMs?: number } = {}): Promise<DetectionView> {
    const { detection } = await this.submit(image, options);
    if (FINAL.has(detection.status)) return detection;
    return this.waitFor(detection.id, { ...(options.waitTimeoutMs !== undefined ? { timeoutMs: options.waitTimeoutMs } : {}), ...(options.signal ? { signal: options.signal } : {}) });
  }

  /** The photo with its boxes drawn: PNG or JPEG (`format`), else what `accept` asks for; `wait` ms for a detection still running. */
  async annotated(id: string, options: CallOptions & { format?: 'png' | 'jpeg'; accept?: string; wait?: number } = {}): Promise<AnnotatedImage> {
    const query = new URLSearchParams();
    if (options.format) query.set('format', options.format);
    if (options.wait !== undefined) query.set('wait', String(options.wait));
    const { value } = await this.transport.send(
      {
        ...this.callBase(options, options.wait),
        method: 'GET',
        path: `/v1/detections/${encodeURIComponent(id)}/annotated${query.size > 0 ? `?${query.toString()}` : ''}`,
        headers: { ...this.callHeaders(options), ...(options.accept ? { accept: options.accept } : {}) },
        idempotent: true,
      },
      async (res) => {
        if (!res.ok) throw errorOf(res, await readJson(res));
        return { data: new Uint8Array(await res.arrayBuffer()), contentType: res.headers.get('content-type') ?? 'application/octet-stream' };
      },
    );
    return value;
  }

  /**
   * Submits several images (repeated multipart fields `images`, and `url` for the ones the server
   * fetches) with the same options; the answer lists each image's detection id.
   */
  async submitBatch(images: readonly (ImageInput | ImageUrl)[], options: BatchOptions = {}): Promise<BatchView> {
    if (images.length === 0) throw new TypeError('submitBatch needs at least one image');
    const body = () => {
      const form = new FormData();
      images.forEach((image, index) => {
        if (isImageUrl(image)) form.append('url', String(image.url));
        else form.append('images', toBlob(image), fileName(image) ?? `image-${index + 1}`);
      });
      setOptionFields(form, detectionFields(options));
      return form;
    };
    const { value } = await this.transport.send(
      {
        ...this.callBase(options),
        method: 'POST',
        path: '/v1/batches',
        headers: { ...this.callHeaders(options), ...(options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : {}) },
        body,
        idempotent: options.idempotencyKey !== undefined,
      },
      jsonOf(isBatchView),
    );
    return value;
  }

  /** A batch's progress. */
  async getBatch(id: string, options: CallOptions = {}): Promise<BatchView> {
    return this.getJson(`/v1/batches/${encodeURIComponent(id)}`, isBatchView, options);
  }

  /** Polls a batch until every image is done (completed or failed); `client_timeout` after `timeoutMs` (default 10 minutes). */
  async waitForBatch(id: string, options: CallOptions & { pollMs?: number; timeoutMs?: number } = {}): Promise<BatchView> {
    const deadline = Date.now() + (options.timeoutMs ?? 600_000);
    for (;;) {
      const batch = await this.getBatch(id, { ...options, timeoutMs: this.timeoutMs });
      if (batch.completed + batch.failed >= batch.total) return batch;
      if (Date.now() + (options.pollMs ?? 1000) > deadline) {
        throw new ArgusError({ code: 'client_timeout', message: `Batch ${id} did not end within ${options.timeoutMs ?? 600_000} ms (${batch.completed + batch.failed} of ${batch.total} done)` });
      }
      await sleep(options.pollMs ?? 1000, options.signal);
    }
  }

  /** A batch's results, one per image, as the server streams them (JSONL). */
  async *batchResults(id: string, options: CallOptions = {}): AsyncGenerator<BatchResult, void, undefined> {
    const { value: res, close } = await this.openBatchResults(id, 'jsonl', options);
    try {
      for await (const line of readLines(res.body)) if (line.trim() !== '') yield parseJson(line, res) as BatchResult;
    } catch (error) {
      if (options.signal?.aborted) throw abortedError(options.signal.reason);
      if (error instanceof ArgusError) throw error;
      throw new ArgusError({ code: 'network_error', message: `The results stream broke: ${error instanceof Error ? error.message : String(error)}`, cause: error });
    } finally {
      close();
    }
  }

  /** A batch's results file (JSONL, CSV, or COCO JSON), streamed: to save or pipe elsewhere. */
  async downloadBatchResults(id: string, options: CallOptions & { format?: 'jsonl' | 'csv' | 'coco' } = {}): Promise<BatchResultsDownload> {
    const { value: res, close } = await this.openBatchResults(id, options.format ?? 'jsonl', options);
    const reader = res.body.getReader();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const { value, done } = await reader.read();
          if (done) {
            close();
            controller.close();
          } else {
            controller.enqueue(value);
          }
        } catch (error) {
          close();
          controller.error(options.signal?.aborted ? abortedError(options.signal.reason) : error);
        }
      },
      async cancel(reason) {
        close();
        await reader.cancel(reason).catch(() => undefined);
      },
    });
    return { contentType: res.headers.get('content-type') ?? 'application/octet-stream', body };
  }

  private openBatchResults(id: string, format: string, options: CallOptions) {
    return this.transport.send(
      { ...this.callBase(options), method: 'GET', path: `/v1/batches/${encodeURIComponent(id)}/results?format=${encodeURIComponent(format)}`, headers: this.callHeaders(options), idempotent: true },
      streamOf,
      true,
    );
  }

  private async getJson<T>(path: string, accept: (json: unknown) => json is T, options: CallOptions): Promise<T> {
    const { value } = await this.transport.send({ ...this.callBase(options), method: 'GET', path, headers: this.callHeaders(options), idempotent: true }, jsonOf(accept));
    return value;
  }

  private callBase(options: CallOptions, serverWaitMs = 0): { signal: AbortSignal | undefined; timeoutMs: number } {
    // A call that asks the server to wait must not time out while it rightly does.
    return { signal: options.signal, timeoutMs: (options.timeoutMs ?? this.timeoutMs) + Math.max(0, serverWaitMs) };
  }

  private callHeaders(options: CallOptions): Record<string, string> {
    return { accept: 'application/json', ...(options.correlationId ? { 'x-correlation-id': options.correlationId } : {}) };
  }
}

function jsonOf<T>(accept: (json: unknown) => json is T): (res: Response) => Promise<T> {
  return async (res) => {
    const json = await readJson(res);
    if (res.ok && accept(json)) return json;
    if (res.ok) throw new ArgusError({ code: 'bad_response', message: `HTTP ${res.status}: the body is not what the API sends here`, status: res.status, correlationId: res.headers.get('x-correlation-id') });
    throw errorOf(res, json);
  };
}

async function streamOf(res: Response): Promise<Response & { body: ReadableStream<Uint8Array> }> {
  if (res.ok && res.body) return res as Response & { body: ReadableStream<Uint8Array> };
  throw errorOf(res, await readJson(res));
}

function parseJson(text: string, res: Response): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ArgusError({ code: 'bad_response', message: `A streamed message is not JSON: ${text.slice(0, 100)}`, status: res.status, correlationId: res.headers.get('x-correlation-id') });
  }
}

function detectionFields(options: DetectionOptions): Record<string, string | undefined> {
  return {
    model: options.model,
    priority: options.priority,
    confidence: options.confidence?.toString(),
    iou: options.iou?.toString(),
    classes: options.classes?.join(','),
    maxDetections: options.maxDetections?.toString(),
    agnostic: options.agnostic === undefined ? undefined : String(options.agnostic),
    deadlineMs: options.deadlineMs?.toString(),
    callbackUrl: options.callbackUrl,
  };
}

function setOptionFields(form: FormData, fields: Record<string, string | undefined>): void {
  for (const [name, value] of Object.entries(fields)) if (value !== undefined) form.set(name, value);
}

function isImageUrl(image: ImageInput | ImageUrl): image is ImageUrl {
  return !(image instanceof Blob) && !(image instanceof ArrayBuffer) && !ArrayBuffer.isView(image) && typeof (image as Partial<ImageUrl>).url !== 'undefined';
}

function fileName(image: ImageInput): string | undefined {
  const name = (image as Partial<File>).name;
  return image instanceof Blob && typeof name === 'string' && name !== '' ? name : undefined;
}

function toBlob(image: ImageInput): Blob {
  if (image instanceof Blob) return image;
  const bytes = image instanceof ArrayBuffer ? new Uint8Array(image) : new Uint8Array(image.buffer, image.byteOffset, image.byteLength);
  // A copy: a Blob must not share memory the caller may reuse (and Buffers from a pool do).
  return new Blob([bytes.slice()]);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return !!value && typeof value === 'object';
}

function isDetectionView(body: unknown): body is DetectionView {
  return isObject(body) && typeof body['id'] === 'string' && typeof body['status'] === 'string';
}

function isDetectionPage(body: unknown): body is DetectionPage {
  return isObject(body) && Array.isArray(body['items']) && (body['nextCursor'] === null || typeof body['nextCursor'] === 'string');
}

function isBatchView(body: unknown): body is BatchView {
  return isObject(body) && typeof body['id'] === 'string' && typeof body['total'] === 'number' && Array.isArray(body['items']);
}

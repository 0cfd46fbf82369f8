import type { DetectionStatus, DetectionView, ErrorBody, ModelSummary, Priority } from '@argus/contracts';
import { ArgusApiError } from './errors';
import { parseServerSentEvents } from './sse';

export interface ArgusClientOptions {
  /** The gateway, e.g. `http://localhost:3000`. */
  baseUrl: string;
  /** Sent as `x-api-key` on every request. */
  apiKey?: string;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
  /** A fetch implementation (default: the global one). */
  fetch?: typeof fetch;
}

/** An image: bytes in memory or a Blob (a File in browsers). */
export type ImageInput = Uint8Array | ArrayBuffer | Blob;

/** The options of a submission, as REST takes them. */
export interface SubmitOptions {
  model?: string;
  priority?: Priority;
  confidence?: number;
  iou?: number;
  /** Labels or class ids to keep. */
  classes?: readonly (string | number)[];
  maxDetections?: number;
  agnostic?: boolean;
  /** Milliseconds to wait for the result before the answer (capped by the server). */
  wait?: number;
  /** Milliseconds from now after which the job, if still waiting, fails with deadline_exceeded. */
  deadlineMs?: number;
  /** Makes a retried submission return the first one instead of doing the work twice. */
  idempotencyKey?: string;
  /** File name sent with the image (default `image`). */
  filename?: string;
  signal?: AbortSignal;
}

/** What a submission answered: the HTTP status (200 done, 202 queued, 4xx/5xx failed while waiting) and the detection. */
export interface Submitted {
  status: number;
  detection: DetectionView;
}

/** A model as GET /v1/models lists it. */
export type { ModelSummary };

/** A message of a detection's event stream. */
export type DetectionStreamEvent =
  | { type: 'status'; id: string; status: DetectionStatus; at: string }
  | { type: 'result'; detection: DetectionView };

/** An annotated image. */
export interface AnnotatedImage {
  data: Uint8Array;
  contentType: string;
}

const FINAL: ReadonlySet<DetectionStatus> = new Set(['completed', 'failed']);

/** A typed client of the Argus REST API (docs/api.md). */
export class ArgusClient {
  private readonly baseUrl: string;
  private readonly fetchFn: typeof fetch;

  constructor(private readonly options: ArgusClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  /** Submits an image (multipart). A detection that failed while waiting is returned, not thrown; request errors throw {@link ArgusApiError}. */
  async submit(image: ImageInput, options: SubmitOptions = {}): Promise<Submitted> {
    const form = new FormData();
    form.set('image', toBlob(image), options.filename ?? 'image');
    const fields: Record<string, string | undefined> = {
      model: options.model,
      priority: options.priority,
      confidence: options.confidence?.toString(),
      iou: options.iou?.toString(),
      classes: options.classes?.join(','),
      maxDetections: options.maxDetections?.toString(),
      agnostic: options.agnostic === undefined ? undefined : String(options.agnostic),
      wait: options.wait?.toString(),
      deadlineMs: options.deadlineMs?.toString(),
    };
    for (const [name, value] of Object.entries(fields)) if (value !== undefined) form.set(name, value);
    const headers: Record<string, string> = options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : {};
    const res = await this.request('/v1/detections', { method: 'POST', body: form, headers, ...(options.signal ? { signal: options.signal } : {}) });
    const body = await readJson(res);
    if (isDetectionView(body)) return { status: res.status, detection: body };
    throw errorOf(res, body);
  }

  /** A detection at any stage. */
  async get(id: string): Promise<DetectionView> {
    const res = await this.request(`/v1/detections/${encodeURIComponent(id)}`);
    const body = await readJson(res);
    if (res.ok && isDetectionView(body)) return body;
    throw errorOf(res, body);
  }

  /** The models served. */
  async models(): Promise<ModelSummary[]> {
    const res = await this.request('/v1/models');
    const body = await readJson(res);
    if (res.ok && body && typeof body === 'object' && Array.isArray((body as { models?: unknown }).models)) return (body as { models: ModelSummary[] }).models;
    throw errorOf(res, body);
  }

  /**
   * A detection's status changes as they happen (Server-Sent Events), then its final view; the
   * iteration ends after the `result` event. Breaking out of the loop closes the stream.
   */
  async *events(id: string, options: { signal?: AbortSignal } = {}): AsyncGenerator<DetectionStreamEvent> {
    const controller = new AbortController();
    const onAbort = () => controller.abort(options.signal?.reason);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const res = await this.request(`/v1/detections/${encodeURIComponent(id)}/events`, { headers: { accept: 'text/event-stream' }, signal: controller.signal });
      if (!res.ok || !res.body) throw errorOf(res, await readJson(res));
      for await (const message of parseServerSentEvents(res.body)) {
        const data: unknown = JSON.parse(message.data);
        if (message.event === 'status') {
          yield { type: 'status', ...(data as { id: string; status: DetectionStatus; at: string }) };
        } else if (message.event === 'result') {
          yield { type: 'result', detection: data as DetectionView };
          return;
        } else if (message.event === 'error') {
          const error = (data as Partial<ErrorBody>).error;
          throw new ArgusApiError(200, error?.code ?? 'bad_response', error?.message ?? 'the event stream failed');
        }
      }
      throw new ArgusApiError(200, 'bad_response', 'The event stream ended before the result');
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      controller.abort();
    }
  }

  /**
   * Resolves once the detection is completed or failed: follows its events, and polls if the
   * stream breaks. Throws {@link ArgusApiError} `deadline_exceeded` after `timeoutMs`.
   */
  async waitFor(id: string, options: { timeoutMs?: number; pollMs?: number } = {}): Promise<DetectionView> {
    const timeoutMs = options.timeoutMs ?? 60000;
    const deadline = Date.now() + timeoutMs;
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      for await (const event of this.events(id, { signal })) if (event.type === 'result') return event.detection;
    } catch (error) {
      if (error instanceof ArgusApiError && error.status >= 400 && error.status < 500 && error.code !== 'rate_limited') throw error;
    }
    while (Date.now() < deadline) {
      const view = await this.get(id);
      if (FINAL.has(view.status)) return view;
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 250));
    }
    throw new ArgusApiError(0, 'deadline_exceeded', `Detection ${id} did not finish within ${timeoutMs} ms`);
  }

  /** Submits and waits for the end: the finished detection. */
  async detect(image: ImageInput, options: SubmitOptions & { timeoutMs?: number } = {}): Promise<DetectionView> {
    const { detection } = await this.submit(image, options);
    return FINAL.has(detection.status) ? detection : this.waitFor(detection.id, options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {});
  }

  /** The photo with its boxes drawn: PNG or JPEG (`format`), else what `accept` asks for. */
  async annotated(id: string, options: { format?: 'png' | 'jpeg'; accept?: string; wait?: number } = {}): Promise<AnnotatedImage> {
    const query = new URLSearchParams();
    if (options.format) query.set('format', options.format);
    if (options.wait !== undefined) query.set('wait', String(options.wait));
    const suffix = query.size > 0 ? `?${query.toString()}` : '';
    const res = await this.request(`/v1/detections/${encodeURIComponent(id)}/annotated${suffix}`, options.accept ? { headers: { accept: options.accept } } : {});
    if (!res.ok) throw errorOf(res, await readJson(res));
    return { data: new Uint8Array(await res.arrayBuffer()), contentType: res.headers.get('content-type') ?? 'application/octet-stream' };
  }

  private async request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = { ...this.options.headers, ...(init.headers as Record<string, string> | undefined), ...(this.options.apiKey ? { 'x-api-key': this.options.apiKey } : {}) };
    try {
      return await this.fetchFn(`${this.baseUrl}${path}`, { ...init, headers });
    } catch (error) {
      if (init.signal?.aborted) throw error;
      throw new ArgusApiError(0, 'network_error', `${init.method ?? 'GET'} ${path}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

function toBlob(image: ImageInput): Blob {
  if (image instanceof Blob) return image;
  const bytes = image instanceof ArrayBuffer ? new Uint8Array(image) : new Uint8Array(image.buffer, image.byteOffset, image.byteLength);
  // A copy: a Blob must not share memory the caller may reuse (and Buffers from a pool do).
  return new Blob([bytes.slice()]);
}

async function readJson(res: Response): Promise<unknown> {
  const type = res.headers.get('content-type') ?? '';
  if (!type.includes('json')) {
    await res.body?.cancel().catch(() => undefined);
    return null;
  }
  try {
    return await res.json();
  } catch {
    return null;
  }
}

function isDetectionView(body: unknown): body is DetectionView {
  return !!body && typeof body === 'object' && typeof (body as { id?: unknown }).id === 'string' && typeof (body as { status?: unknown }).status === 'string';
}

function errorOf(res: Response, body: unknown): ArgusApiError {
  const retry = Number(res.headers.get('retry-after'));
  const error = (body as Partial<ErrorBody> | null)?.error;
  return new ArgusApiError(
    res.status,
    error?.code ?? 'bad_response',
    error?.message ?? `HTTP ${res.status} ${res.statusText}`,
    Number.isFinite(retry) && retry > 0 ? retry : undefined,
  );
}

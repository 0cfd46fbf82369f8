import { ArgusError } from './errors';
import type { ErrorBody } from './types';

/** When and how often a call is tried again. */
export interface RetryOptions {
  /** Attempts in all, the first included (1 turns retries off). Default 3. */
  maxAttempts: number;
  /** No retry starts once this long has passed since the first attempt, or would wait past it. Default 60000. */
  maxElapsedMs: number;
  /** First backoff when the answer gave no Retry-After; doubles per attempt, with jitter. Default 500. */
  baseDelayMs: number;
  /** Longest backoff without Retry-After. Default 8000. */
  maxDelayMs: number;
  /** Told before each retry (for logs and metrics). */
  onRetry?: (event: RetryEvent) => void;
}

/** A retry about to happen. */
export interface RetryEvent {
  method: string;
  path: string;
  /** The attempt that failed (1 for the first). */
  attempt: number;
  delayMs: number;
  error: ArgusError;
}

/** The retry policy of a client that sets none. */
export const DEFAULT_RETRY: Readonly<RetryOptions> = Object.freeze({ maxAttempts: 3, maxElapsedMs: 60_000, baseDelayMs: 500, maxDelayMs: 8_000 });

/** One logical call: every attempt sends the same thing. */
export interface Call {
  method: 'GET' | 'POST' | 'DELETE';
  /** Path and query, e.g. `/v1/detections?limit=10`. */
  path: string;
  headers?: Record<string, string>;
  /** Builds the body afresh for each attempt (a stream or form must not be reused half-read). */
  body?: () => NonNullable<RequestInit['body']>;
  /**
   * Whether a failure without an answer (network error, timeout) may be retried: the call has no
   * effect, or the server deduplicates it (Idempotency-Key). 429 and 503 are retried either way,
   * since the server did nothing with the request.
   */
  idempotent: boolean;
  signal?: AbortSignal | undefined;
  /** Longest one attempt may take, reading its answer included. */
  timeoutMs: number;
}

/** Where calls go, and what every one of them carries. */
export interface TransportOptions {
  baseUrl: string;
  headers: Record<string, string>;
  fetch: typeof fetch;
  retry: RetryOptions;
}

/** A call's result, and for streamed answers the way to let go of the connection. */
export interface Sent<T> {
  value: T;
  /** Closes the connection of a streamed answer (a no-op otherwise). */
  close(): void;
}

/** Sends calls with timeouts, the caller's AbortSignal, and retries. */
export class Transport {
  constructor(private readonly options: TransportOptions) {}

  /**
   * Sends `call` and hands the answer to `read` while the attempt's timeout still runs; `read`
   * returns the value or throws an {@link ArgusError}. With `stream`, the timeout stops once
   * `read` returns and the connection stays open (under the caller's signal) until `close`.
   */
  async send<T>(call: Call, read: (res: Response) => Promise<T>, stream = false): Promise<Sent<T>> {
    const { retry } = this.options;
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      if (call.signal?.aborted) throw abortedError(call.signal.reason);
      const guard = new AttemptGuard(call.signal, call.timeoutMs);
      let error: ArgusError;
      try {
        const res = await this.fetchOnce(call, guard.signal);
        const value = await read(res);
        if (stream) {
          guard.stopTimer();
          return { value, close: () => guard.dispose(true) };
        }
        guard.dispose(false);
        return { value, close: () => undefined };
      } catch (thrown) {
        guard.dispose(true);
        error = classify(thrown, call, guard);
      }
      if (!retriable(error, call)) throw error;
      const delayMs = error.retryAfterSeconds !== undefined ? error.retryAfterSeconds * 1000 : backoff(retry, attempt);
      if (attempt >= retry.maxAttempts || Date.now() - started + delayMs > retry.maxElapsedMs) throw error;
      retry.onRetry?.({ method: call.method, path: call.path, attempt, delayMs, error });
      await sleep(delayMs, call.signal);
    }
  }

  private async fetchOnce(call: Call, signal: AbortSignal): Promise<Response> {
    const init: RequestInit = { method: call.method, headers: { ...this.options.headers, ...call.headers }, signal };
    if (call.body) init.body = call.body();
    return this.options.fetch(`${this.options.baseUrl}${call.path}`, init);
  }
}

/** The caller's signal and a timeout, joined for one attempt; tells which of them fired. */
class AttemptGuard {
  private readonly controller = new AbortController();
  private timer: ReturnType<typeof setTimeout> | undefined;
  timedOut = false;

  constructor(
    private readonly outer: AbortSignal | undefined,
    readonly timeoutMs: number,
  ) {
    if (outer?.aborted) this.controller.abort(outer.reason);
    outer?.addEventListener('abort', this.onAbort, { once: true });
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort(new Error(`timed out after ${timeoutMs} ms`));
    }, timeoutMs);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get aborted(): boolean {
    return this.outer?.aborted === true;
  }

  stopTimer(): void {
    clearTimeout(this.timer);
  }

  /** Lets go of the caller's signal; `abort` also ends the connection if it is still open. */
  dispose(abort: boolean): void {
    clearTimeout(this.timer);
    this.outer?.removeEventListener('abort', this.onAbort);
    if (abort && !this.controller.signal.aborted) this.controller.abort();
  }

  private readonly onAbort = () => this.controller.abort(this.outer?.reason);
}

function classify(thrown: unknown, call: Call, guard: AttemptGuard): ArgusError {
  // The caller's abort and our timeout win over whatever error they caused on the way.
  if (guard.aborted) return abortedError(call.signal?.reason);
  if (guard.timedOut) {
    return new ArgusError({ code: 'client_timeout', message: `${call.method} ${call.path}: no complete answer within ${guard.timeoutMs} ms`, cause: thrown });
  }
  if (thrown instanceof ArgusError) return thrown;
  const detail = thrown instanceof Error ? `${thrown.message}${thrown.cause instanceof Error ? ` (${thrown.cause.message})` : ''}` : String(thrown);
  return new ArgusError({ code: 'network_error', message: `${call.method} ${call.path}: ${detail}`, cause: thrown });
}

function retriable(error: ArgusError, call: Call): boolean {
  if (error.code === 'aborted') return false;
  if (error.status === 429 || error.status === 503) return true;
  return call.idempotent && (error.code === 'network_error' || error.code === 'client_timeout');
}

/** Exponential backoff with jitter, so that clients refused together do not come back together. */
function backoff(retry: RetryOptions, attempt: number): number {
  const ceiling = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

/** The error for a call the caller aborted. */
export function abortedError(reason: unknown): ArgusError {
  const detail = reason instanceof Error ? reason.message : reason === undefined ? '' : String(reason);
  return new ArgusError({ code: 'aborted', message: `The call was aborted${detail ? `: ${detail}` : ''}`, cause: reason });
}

/** Waits `ms`, or rejects with `aborted` as soon as `signal` fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortedError(signal.reason));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortedError(signal?.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Reads a JSON body; null when the answer is not JSON (then the body is discarded). */
export async function readJson(res: Response): Promise<unknown> {
  const type = res.headers.get('content-type') ?? '';
  if (!/[/+]json\b/i.test(type)) {
    await res.body?.cancel().catch(() => undefined);
    return null;
  }
  const text = await res.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/** The error for an answer that is not a success: the API's error body, else a description of what came. */
export function errorOf(res: Response, body: unknown): ArgusError {
  const correlationId = res.headers.get('x-correlation-id');
  const retryAfterSeconds = parseRetryAfter(res.headers.get('retry-after'));
  const error = (body as Partial<ErrorBody> | null)?.error;
  if (error && typeof error.code === 'string' && typeof error.message === 'string') {
    return new ArgusError({ code: error.code, message: error.message, status: res.status, correlationId, ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}) });
  }
  return new ArgusError({
    code: 'bad_response',
    message: `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}: not an answer of the Argus API`,
    status: res.status,
    correlationId,
    ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
  });
}

/** Retry-After as seconds (delay-seconds or an HTTP date); undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

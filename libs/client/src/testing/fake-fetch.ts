// Test doubles for the client's specs (not part of the package).

/** A JSON answer. */
export const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(status === 204 ? null : JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

/** An API error answer. */
export const apiError = (status: number, code: string, message: string, headers: Record<string, string> = {}) => json({ error: { code, message } }, status, headers);

/** A minimal detection view. */
export const view = (status: string, id = 'd1') => ({ id, status, detections: [] });

/** A byte stream of the given text chunks. */
export function stream(chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

/** An answer that never comes: rejects only when the request's signal aborts, as fetch does. */
export function hang(init: RequestInit): Promise<Response> {
  return new Promise((_, reject) => {
    const signal = init.signal;
    if (!signal) return;
    if (signal.aborted) return reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason ?? new DOMException('This operation was aborted', 'AbortError')), { once: true });
  });
}

export interface FakeCall {
  url: string;
  init: RequestInit;
  headers: Record<string, string>;
}

/** A fetch that records each request and answers with `handler` (called with the request's index). */
export function fakeFetch(handler: (url: string, init: RequestInit, index: number) => Response | Promise<Response>) {
  const calls: FakeCall[] = [];
  const fn = (async (input: string | URL | Request, init: RequestInit = {}) => {
    const headers = Object.fromEntries(Object.entries((init.headers ?? {}) as Record<string, string>).map(([k, v]) => [k.toLowerCase(), v]));
    calls.push({ url: String(input), init, headers });
    return handler(String(input), init, calls.length - 1);
  }) as typeof fetch;
  return { fn, calls };
}

import { ArgusClient, type ArgusClientOptions } from './client';
import type { RetryEvent } from './http';
import { apiError, fakeFetch, hang, json, view } from './testing/fake-fetch';

const client = (fn: typeof fetch, options: Partial<ArgusClientOptions> = {}) => new ArgusClient({ baseUrl: 'http://a', fetch: fn, ...options });
const settle = <T>(promise: Promise<T>) => promise.then((value) => ({ value }), (error: unknown) => ({ error }));

describe('ArgusClient retries, timeouts and aborts', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('waits the Retry-After of a 429 before trying again, then returns the answer', async () => {
    const { fn, calls } = fakeFetch((_url, _init, index) => (index === 0 ? apiError(429, 'rate_limited', 'slow down', { 'retry-after': '2' }) : json(view('completed'))));
    const retries: RetryEvent[] = [];
    const reply = settle(client(fn, { retry: { onRetry: (event) => retries.push(event) } }).get('d1'));
    await jest.advanceTimersByTimeAsync(1999);
    expect(calls).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(calls).toHaveLength(2);
    expect(await reply).toEqual({ value: view('completed') });
    expect(retries).toMatchObject([{ method: 'GET', path: '/v1/detections/d1', attempt: 1, delayMs: 2000, error: { code: 'rate_limited' } }]);
  });

  it('reads Retry-After given as an HTTP date', async () => {
    jest.setSystemTime(new Date('2025-01-01T00:00:00Z'));
    const { fn, calls } = fakeFetch((_url, _init, index) => (index === 0 ? apiError(503, 'overloaded', 'busy', { 'retry-after': 'Wed, 01 Jan 2025 00:00:03 GMT' }) : json(view('completed'))));
    const reply = settle(client(fn).get('d1'));
    await jest.advanceTimersByTimeAsync(2999);
    expect(calls).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(await reply).toEqual({ value: view('completed') });
  });

  it('sends one Idempotency-Key on every retry of a submission, through 503s and network errors, and a new one for the next submission', async () => {
    const answers = [
      () => apiError(503, 'unavailable', 'Redis is away', { 'retry-after': '1' }),
      () => Promise.reject(new TypeError('fetch failed')),
      () => json(view('queued'), 202),
      () => json(view('queued', 'd2'), 202),
    ];
    const { fn, calls } = fakeFetch((_url, _init, index) => (answers[index] as () => Response | Promise<Response>)());
    const argus = client(fn);
    const first = settle(argus.submit(new Uint8Array([1])));
    await jest.runAllTimersAsync();
    expect(await first).toEqual({ value: { status: 202, detection: view('queued') } });
    const second = settle(argus.submit(new Uint8Array([1])));
    await jest.runAllTimersAsync();
    expect(await second).toEqual({ value: { status: 202, detection: view('queued', 'd2') } });

    const keys = calls.map((c) => c.headers['idempotency-key']);
    expect(keys[0]).toBeDefined();
    expect(keys.slice(0, 3)).toEqual([keys[0], keys[0], keys[0]]);
    expect(keys[3]).not.toBe(keys[0]);
    // Each attempt sends the whole image again.
    expect(calls.map((c) => (c.init.body as FormData).get('image'))).toEqual(Array(4).fill(expect.any(Blob)));
  });

  it('gives up after maxAttempts, with the last answer’s error', async () => {
    const { fn, calls } = fakeFetch(() => apiError(429, 'rate_limited', 'slow down', { 'retry-after': '1' }));
    const reply = settle(client(fn, { retry: { maxAttempts: 4 } }).models());
    await jest.runAllTimersAsync();
    expect(await reply).toMatchObject({ error: { code: 'rate_limited', status: 429, retryAfterSeconds: 1 } });
    expect(calls).toHaveLength(4);
  });

  it('gives up at once when Retry-After would take it past maxElapsedMs', async () => {
    const { fn, calls } = fakeFetch(() => apiError(429, 'rate_limited', 'slow down', { 'retry-after': '120' }));
    const reply = settle(client(fn, { retry: { maxElapsedMs: 60_000 } }).get('d1'));
    await jest.advanceTimersByTimeAsync(0);
    expect(await reply).toMatchObject({ error: { code: 'rate_limited', retryAfterSeconds: 120 } });
    expect(calls).toHaveLength(1);
  });

  it('retries a proxy’s 503 without Retry-After with a backoff', async () => {
    const { fn, calls } = fakeFetch((_url, _init, index) => (index < 2 ? new Response('<html>busy</html>', { status: 503 }) : json({ models: [] })));
    const delays: number[] = [];
    const reply = settle(client(fn, { retry: { baseDelayMs: 100, onRetry: (e) => delays.push(e.delayMs) } }).models());
    await jest.runAllTimersAsync();
    expect(await reply).toEqual({ value: [] });
    expect(calls).toHaveLength(3);
    // Jittered within [half, all] of 100 then 200 ms.
    expect(delays[0]).toBeGreaterThanOrEqual(50);
    expect(delays[0]).toBeLessThanOrEqual(100);
    expect(delays[1]).toBeGreaterThanOrEqual(100);
    expect(delays[1]).toBeLessThanOrEqual(200);
  });

  it('does not retry other errors, nor a detection that failed while waiting with a 503 status', async () => {
    const notFound = fakeFetch(() => apiError(404, 'not_found', 'no'));
    await expect(client(notFound.fn).get('d1')).rejects.toMatchObject({ code: 'not_found' });
    expect(notFound.calls).toHaveLength(1);

    const failedView = fakeFetch(() => json({ ...view('failed'), error: { code: 'no_models', message: 'none' } }, 503, { 'retry-after': '1' }));
    expect(await client(failedView.fn).submit(new Uint8Array([1]), { wait: 1000 })).toMatchObject({ status: 503, detection: { status: 'failed' } });
    expect(failedView.calls).toHaveLength(1);
  });

  it('retries network errors of calls safe to repeat, never those of a batch without a key or of a delete', async () => {
    const flaky = () => fakeFetch((_url, init, index) => (index === 0 ? Promise.reject(new TypeError('fetch failed')) : init.method === 'DELETE' ? new Response(null, { status: 204 }) : json({ id: 'b1', status: 'queued', total: 1, completed: 0, failed: 0, items: [] }, 202)));

    const get = flaky();
    const read = settle(client(get.fn).getBatch('b1'));
    await jest.runAllTimersAsync();
    expect(await read).toMatchObject({ value: { id: 'b1' } });
    expect(get.calls).toHaveLength(2);

    const keyed = flaky();
    const withKey = settle(client(keyed.fn).submitBatch([new Uint8Array([1])], { idempotencyKey: 'batch-1' }));
    await jest.runAllTimersAsync();
    expect(await withKey).toMatchObject({ value: { id: 'b1' } });
    expect(keyed.calls.map((c) => c.headers['idempotency-key'])).toEqual(['batch-1', 'batch-1']);

    for (const send of [(c: ArgusClient) => c.submitBatch([new Uint8Array([1])]), (c: ArgusClient) => c.delete('d1')]) {
      const once = flaky();
      await expect(send(client(once.fn))).rejects.toMatchObject({ code: 'network_error', status: 0 });
      expect(once.calls).toHaveLength(1);
    }
  });

  it('times out an attempt with client_timeout, retrying a call that is safe to repeat', async () => {
    const { fn, calls } = fakeFetch((_url, init) => hang(init));
    const reply = settle(client(fn, { timeoutMs: 1000, retry: { maxAttempts: 2, baseDelayMs: 10 } }).get('d1'));
    await jest.advanceTimersByTimeAsync(999);
    expect(calls).toHaveLength(1);
    await jest.runAllTimersAsync();
    expect(await reply).toMatchObject({ error: { name: 'ArgusError', code: 'client_timeout', status: 0 } });
    expect(calls).toHaveLength(2);
  });

  it('gives a submission the server’s wait on top of its timeout', async () => {
    const { fn } = fakeFetch((_url, init) => hang(init));
    const reply = settle(client(fn, { timeoutMs: 1000, retry: false }).submit(new Uint8Array([1]), { wait: 5000 }));
    await jest.advanceTimersByTimeAsync(5999);
    let settled = false;
    void reply.then(() => (settled = true));
    await jest.advanceTimersByTimeAsync(0);
    expect(settled).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(await reply).toMatchObject({ error: { code: 'client_timeout' } });
  });

  it('times out a body that stops arriving', async () => {
    const { fn } = fakeFetch((_url, init) => {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('{"id":'));
          init.signal?.addEventListener('abort', () => controller.error(init.signal?.reason));
        },
      });
      return new Response(body, { headers: { 'content-type': 'application/json' } });
    });
    const reply = settle(client(fn, { timeoutMs: 500, retry: false }).get('d1'));
    await jest.advanceTimersByTimeAsync(500);
    expect(await reply).toMatchObject({ error: { code: 'client_timeout' } });
  });

  it('tells an abort (aborted) from a timeout, and never retries it', async () => {
    const { fn, calls } = fakeFetch((_url, init) => hang(init));
    const controller = new AbortController();
    const reply = settle(client(fn, { timeoutMs: 10_000 }).get('d1', { signal: controller.signal }));
    await jest.advanceTimersByTimeAsync(100);
    controller.abort(new Error('user left'));
    await jest.advanceTimersByTimeAsync(0);
    expect(await reply).toMatchObject({ error: { code: 'aborted', message: 'The call was aborted: user left' } });
    expect(calls).toHaveLength(1);

    const already = fakeFetch((_url, init) => hang(init));
    await expect(client(already.fn).models({ signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'aborted' });
  });

  it('stops waiting for a retry when aborted', async () => {
    const { fn, calls } = fakeFetch(() => apiError(429, 'rate_limited', 'slow down', { 'retry-after': '30' }));
    const controller = new AbortController();
    const reply = settle(client(fn).get('d1', { signal: controller.signal }));
    await jest.advanceTimersByTimeAsync(1000);
    controller.abort();
    await jest.advanceTimersByTimeAsync(0);
    expect(await reply).toMatchObject({ error: { code: 'aborted' } });
    expect(calls).toHaveLength(1);
  });

  it('waitFor ends with client_timeout after its timeout, and with aborted when its signal fires', async () => {
    const { fn } = fakeFetch((url, init) => (url.endsWith('/events') ? hang(init) : json(view('active'))));
    const timedOut = settle(client(fn).waitFor('d1', { timeoutMs: 2000 }));
    await jest.advanceTimersByTimeAsync(2000);
    expect(await timedOut).toMatchObject({ error: { code: 'client_timeout', message: 'Detection d1 did not end within 2000 ms' } });

    const controller = new AbortController();
    const aborted = settle(client(fn).waitFor('d1', { timeoutMs: 2000, signal: controller.signal }));
    await jest.advanceTimersByTimeAsync(500);
    controller.abort();
    await jest.advanceTimersByTimeAsync(0);
    expect(await aborted).toMatchObject({ error: { code: 'aborted' } });
  });

  it('closes an event stream when the caller aborts while it is open', async () => {
    let cancelled = false;
    const { fn } = fakeFetch((_url, init) => {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('event: status\ndata: {"id":"d1","status":"queued","at":"t"}\n\n'));
          init.signal?.addEventListener('abort', () => {
            cancelled = true;
            controller.error(init.signal?.reason);
          });
        },
      });
      return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
    });
    const controller = new AbortController();
    const events = client(fn).events('d1', { signal: controller.signal });
    expect(await events.next()).toMatchObject({ value: { type: 'status', status: 'queued' } });
    const next = settle(events.next());
    controller.abort();
    expect(await next).toMatchObject({ error: { code: 'aborted' } });
    expect(cancelled).toBe(true);
  });
});

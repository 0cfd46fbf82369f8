import { ArgusApiError } from './errors';
import { ArgusClient } from './client';
import { parseBlock, parseServerSentEvents } from './sse';

const view = (status: string, id = 'd1') => ({ id, status, detections: [] });
const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

function stream(chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

function fakeFetch(handler: (url: string, init: RequestInit) => Response | Promise<Response>) {
  const calls: { url: string; init: RequestInit }[] = [];
  const fn = (async (input: string | URL | Request, init: RequestInit = {}) => {
    calls.push({ url: String(input), init });
    return handler(String(input), init);
  }) as typeof fetch;
  return { fn, calls };
}

describe(ArgusClient.name, () => {
  it('submits multipart with the options as fields and the key as x-api-key', async () => {
    const { fn, calls } = fakeFetch(() => json(view('queued'), 202));
    const client = new ArgusClient({ baseUrl: 'http://argus:3000/', apiKey: 'k', fetch: fn });
    const reply = await client.submit(Buffer.from('jpeg'), { priority: 'high', classes: ['person', 0], agnostic: false, wait: 100, idempotencyKey: 'once' });
    expect(reply).toEqual({ status: 202, detection: view('queued') });
    const { url, init } = calls[0] ?? { url: '', init: {} };
    expect(url).toBe('http://argus:3000/v1/detections');
    expect(init.method).toBe('POST');
    expect(init.headers).toMatchObject({ 'x-api-key': 'k', 'idempotency-key': 'once' });
    const form = init.body as FormData;
    expect([form.get('priority'), form.get('classes'), form.get('agnostic'), form.get('wait'), form.get('model')]).toEqual(['high', 'person,0', 'false', '100', null]);
    expect(form.get('image')).toBeInstanceOf(Blob);
  });

  it('returns a detection that failed while waiting, and throws the API error otherwise', async () => {
    const failed = new ArgusClient({ baseUrl: 'http://a', fetch: fakeFetch(() => json(view('failed'), 422)).fn });
    expect(await failed.submit(new Uint8Array([1]))).toEqual({ status: 422, detection: view('failed') });

    const refused = new ArgusClient({ baseUrl: 'http://a', fetch: fakeFetch(() => json({ error: { code: 'rate_limited', message: 'slow down' } }, 429, { 'retry-after': '3' })).fn });
    await expect(refused.submit(new Uint8Array([1]))).rejects.toMatchObject({ status: 429, code: 'rate_limited', message: 'slow down', retryAfterSeconds: 3 });

    const down = new ArgusClient({ baseUrl: 'http://a', fetch: fakeFetch(() => Promise.reject(new TypeError('fetch failed'))).fn });
    await expect(down.get('x')).rejects.toMatchObject({ status: 0, code: 'network_error' });
    await expect(new ArgusClient({ baseUrl: 'http://a', fetch: fakeFetch(() => new Response('<html>', { status: 502 })).fn }).models()).rejects.toBeInstanceOf(ArgusApiError);
  });

  it('follows events until the result', async () => {
    const body = stream([
      'retry: 3000\n\nid: 1\nevent: status\ndata: {"id":"d1","status":"queued","at":"t0"}\n\n: heartbeat\n\n',
      'id: 2\nevent: sta',
      'tus\ndata: {"id":"d1","status":"completed","at":"t1"}\n\nid: result\nevent: result\ndata: {"id":"d1","status":"completed","detections":[]}\n\n',
    ]);
    const client = new ArgusClient({ baseUrl: 'http://a', fetch: fakeFetch(() => new Response(body, { headers: { 'content-type': 'text/event-stream' } })).fn });
    const events = [];
    for await (const event of client.events('d1')) events.push(event);
    expect(events).toEqual([
      { type: 'status', id: 'd1', status: 'queued', at: 't0' },
      { type: 'status', id: 'd1', status: 'completed', at: 't1' },
      { type: 'result', detection: view('completed') },
    ]);
  });

  it('waits by polling when the event stream is not there', async () => {
    let polls = 0;
    const { fn } = fakeFetch((url) => {
      if (url.endsWith('/events')) return new Response('no', { status: 502 });
      polls++;
      return json(view(polls < 3 ? 'active' : 'completed'));
    });
    const client = new ArgusClient({ baseUrl: 'http://a', fetch: fn });
    expect(await client.waitFor('d1', { pollMs: 1 })).toEqual(view('completed'));
    expect(polls).toBe(3);
  });

  it('asks for the annotated image in the format given', async () => {
    const { fn, calls } = fakeFetch(() => new Response(new Uint8Array([0x89, 0x50]), { headers: { 'content-type': 'image/png' } }));
    const image = await new ArgusClient({ baseUrl: 'http://a', fetch: fn }).annotated('d 1', { format: 'png', wait: 50 });
    expect(calls[0]?.url).toBe('http://a/v1/detections/d%201/annotated?format=png&wait=50');
    expect(image).toEqual({ data: new Uint8Array([0x89, 0x50]), contentType: 'image/png' });
  });
});

describe('Server-Sent Events parsing', () => {
  it('joins data lines, keeps the last id and event, skips comments and data-less blocks', () => {
    expect(parseBlock('event: a\nid: 7\ndata: x\ndata: y')).toEqual({ event: 'a', id: '7', data: 'x\ny' });
    expect(parseBlock(': only a comment')).toBeNull();
    expect(parseBlock('data:no-space')).toEqual({ event: 'message', id: null, data: 'no-space' });
  });

  it('handles CRLF line ends and messages split across chunks', async () => {
    const messages = [];
    for await (const m of parseServerSentEvents(stream(['event: s\r\nda', 'ta: 1\r\n\r\ndata: 2\n', '\n']))) messages.push(m);
    expect(messages).toEqual([
      { event: 's', id: null, data: '1' },
      { event: 'message', id: null, data: '2' },
    ]);
  });
});

import { ArgusClient } from './client';
import { ArgusApiError, ArgusError } from './errors';
import { apiError, fakeFetch, json, stream, view } from './testing/fake-fetch';

const noRetry = { retry: false } as const;

describe(ArgusClient.name, () => {
  describe('submit', () => {
    it('sends multipart with the options as fields, the key as x-api-key and an Idempotency-Key', async () => {
      const { fn, calls } = fakeFetch(() => json(view('queued'), 202));
      const client = new ArgusClient({ baseUrl: 'http://argus:3000/', apiKey: 'k', fetch: fn });
      const reply = await client.submit(Buffer.from('jpeg'), {
        model: 'yolox-nano@eddfef33eb8c',
        priority: 'high',
        classes: ['person', 0],
        agnostic: false,
        wait: 100,
        deadlineMs: 5000,
        callbackUrl: 'https://hooks.example/argus',
        correlationId: 'trace-1',
      });
      expect(reply).toEqual({ status: 202, detection: view('queued') });
      const call = calls[0];
      expect(call?.url).toBe('http://argus:3000/v1/detections');
      expect(call?.init.method).toBe('POST');
      expect(call?.headers).toMatchObject({ 'x-api-key': 'k', 'x-correlation-id': 'trace-1' });
      expect(call?.headers['idempotency-key']).toMatch(/^[0-9a-f-]{36}$/);
      const form = call?.init.body as FormData;
      const fields = ['model', 'priority', 'classes', 'agnostic', 'wait', 'deadlineMs', 'callbackUrl', 'confidence', 'url'].map((name) => form.get(name));
      expect(fields).toEqual(['yolox-nano@eddfef33eb8c', 'high', 'person,0', 'false', '100', '5000', 'https://hooks.example/argus', null, null]);
      expect(form.get('image')).toBeInstanceOf(Blob);
    });

    it('sends a URL instead of a file, the key as a bearer token, and the caller’s Idempotency-Key', async () => {
      const { fn, calls } = fakeFetch(() => json(view('queued'), 202));
      const client = new ArgusClient({ baseUrl: 'http://a', apiKey: 'k', authScheme: 'bearer', fetch: fn });
      await client.submit({ url: new URL('https://img.example/bus.jpg') }, { idempotencyKey: 'once' });
      const form = calls[0]?.init.body as FormData;
      expect([form.get('url'), form.get('image')]).toEqual(['https://img.example/bus.jpg', null]);
      expect(calls[0]?.headers).toMatchObject({ authorization: 'Bearer k', 'idempotency-key': 'once' });
      expect(calls[0]?.headers['x-api-key']).toBeUndefined();
    });

    it('returns a detection that failed while waiting, and throws the API error otherwise', async () => {
      const failed = new ArgusClient({ baseUrl: 'http://a', fetch: fakeFetch(() => json(view('failed'), 422)).fn });
      expect(await failed.submit(new Uint8Array([1]))).toEqual({ status: 422, detection: view('failed') });

      const refused = new ArgusClient({ baseUrl: 'http://a', ...noRetry, fetch: fakeFetch(() => apiError(415, 'not_an_image', 'not an image', { 'x-correlation-id': 'c-1' })).fn });
      await expect(refused.submit(new Uint8Array([1]))).rejects.toMatchObject({ name: 'ArgusError', status: 415, code: 'not_an_image', message: 'not an image', correlationId: 'c-1' });
    });
  });

  describe('errors', () => {
    it('maps the error body, Retry-After and X-Correlation-Id', async () => {
      const client = new ArgusClient({ baseUrl: 'http://a', ...noRetry, fetch: fakeFetch(() => apiError(429, 'rate_limited', 'slow down', { 'retry-after': '3', 'x-correlation-id': 'c-9' })).fn });
      const error = await client.get('x').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ArgusError);
      expect(error).toBeInstanceOf(ArgusApiError); // the earlier name still works
      expect(error).toMatchObject({ status: 429, code: 'rate_limited', message: 'slow down', retryAfterSeconds: 3, correlationId: 'c-9' });
    });

    it('calls an answer that is not the API’s bad_response, and a failed connection network_error', async () => {
      const proxy = new ArgusClient({ baseUrl: 'http://a', ...noRetry, fetch: fakeFetch(() => new Response('<html>', { status: 502, statusText: 'Bad Gateway' })).fn });
      await expect(proxy.models()).rejects.toMatchObject({ status: 502, code: 'bad_response', correlationId: null });

      const garbled = new ArgusClient({ baseUrl: 'http://a', fetch: fakeFetch(() => json({ hello: 1 })).fn });
      await expect(garbled.get('x')).rejects.toMatchObject({ status: 200, code: 'bad_response' });

      const down = new ArgusClient({ baseUrl: 'http://a', ...noRetry, fetch: fakeFetch(() => Promise.reject(new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED') }))).fn });
      await expect(down.get('x')).rejects.toMatchObject({ status: 0, code: 'network_error', message: 'GET /v1/detections/x: fetch failed (connect ECONNREFUSED)' });
    });
  });

  it('lists the models', async () => {
    const model = { name: 'yolox-nano', version: 'v', classes: 80 };
    const { fn, calls } = fakeFetch(() => json({ models: [model] }));
    expect(await new ArgusClient({ baseUrl: 'http://a', fetch: fn }).models()).toEqual([model]);
    expect(calls[0]?.url).toBe('http://a/v1/models');
  });

  describe('listing', () => {
    it('asks for one page with the filters and the cursor', async () => {
      const { fn, calls } = fakeFetch(() => json({ items: [view('completed')], nextCursor: 'c2' }));
      const page = await new ArgusClient({ baseUrl: 'http://a', fetch: fn }).listPage({ limit: 50, cursor: 'c1', status: 'failed', model: 'yolox-nano', since: new Date('2025-01-02T03:04:05Z') });
      expect(page).toEqual({ items: [view('completed')], nextCursor: 'c2' });
      expect(calls[0]?.url).toBe('http://a/v1/detections?limit=50&cursor=c1&status=failed&model=yolox-nano&since=2025-01-02T03%3A04%3A05.000Z');
    });

    it('iterates over every item of every page, passing each page’s cursor and keeping the filters', async () => {
      const pages: Record<string, { items: unknown[]; nextCursor: string | null }> = {
        '': { items: [view('completed', 'a'), view('completed', 'b')], nextCursor: 'p2' },
        p2: { items: [], nextCursor: 'p3' }, // an empty page in the middle does not end the listing
        p3: { items: [view('failed', 'c')], nextCursor: null },
      };
      const { fn, calls } = fakeFetch((url) => json(pages[new URL(url).searchParams.get('cursor') ?? '']));
      const ids = [];
      for await (const detection of new ArgusClient({ baseUrl: 'http://a', fetch: fn }).list({ model: 'm', limit: 2 })) ids.push(detection.id);
      expect(ids).toEqual(['a', 'b', 'c']);
      expect(calls.map((c) => c.url)).toEqual(['http://a/v1/detections?limit=2&model=m', 'http://a/v1/detections?limit=2&cursor=p2&model=m', 'http://a/v1/detections?limit=2&cursor=p3&model=m']);
    });

    it('fetches no further page once the loop stops, and refuses a cursor that does not move', async () => {
      const { fn, calls } = fakeFetch(() => json({ items: [view('completed', 'a'), view('completed', 'b')], nextCursor: 'same' }));
      const client = new ArgusClient({ baseUrl: 'http://a', fetch: fn });
      for await (const detection of client.list()) if (detection.id === 'a') break;
      expect(calls).toHaveLength(1);

      const seen: string[] = [];
      await expect(
        (async () => {
          for await (const detection of client.list()) seen.push(detection.id);
        })(),
      ).rejects.toMatchObject({ code: 'bad_response' });
      expect(seen).toEqual(['a', 'b', 'a', 'b']);
    });
  });

  describe('delete', () => {
    it('cancels a waiting detection (200), erases a finished one (204), and refuses a running one (409)', async () => {
      const answers = [json(view('canceled')), new Response(null, { status: 204 }), apiError(409, 'not_ready', 'running')];
      const { fn, calls } = fakeFetch((_url, _init, index) => answers[index] as Response);
      const client = new ArgusClient({ baseUrl: 'http://a', fetch: fn });
      expect(await client.delete('d1')).toEqual({ outcome: 'canceled', detection: view('canceled') });
      expect(await client.delete('d1')).toEqual({ outcome: 'erased', detection: null });
      await expect(client.delete('d1')).rejects.toMatchObject({ status: 409, code: 'not_ready' });
      expect(calls.map((c) => [c.init.method, c.url])).toEqual(Array(3).fill(['DELETE', 'http://a/v1/detections/d1']));
    });
  });

  describe('batches', () => {
    const batch = { id: 'b1', status: 'queued', total: 3, completed: 0, failed: 0, items: [{ id: 'd1', image: 'bus.jpg' }, { id: 'd2', image: 'image-2' }, { id: 'd3', image: 'https://img.example/x.jpg' }] };

    it('submits files as repeated `images` fields and URLs as repeated `url` fields, with the options', async () => {
      const { fn, calls } = fakeFetch(() => json(batch, 202, { location: '/v1/batches/b1' }));
      const client = new ArgusClient({ baseUrl: 'http://a', fetch: fn });
      const files = [new File([new Uint8Array([1])], 'bus.jpg'), new Uint8Array([2]), { url: 'https://img.example/x.jpg' }];
      expect(await client.submitBatch(files, { priority: 'low', classes: ['bus'], callbackUrl: 'https://hooks.example/b' })).toEqual(batch);
      const form = calls[0]?.init.body as FormData;
      expect(calls[0]?.url).toBe('http://a/v1/batches');
      expect(form.getAll('images').map((f) => (f as File).name)).toEqual(['bus.jpg', 'image-2']);
      expect(form.getAll('url')).toEqual(['https://img.example/x.jpg']);
      expect([form.get('priority'), form.get('classes'), form.get('callbackUrl'), form.get('wait')]).toEqual(['low', 'bus', 'https://hooks.example/b', null]);
      expect(calls[0]?.headers['idempotency-key']).toBeUndefined();
    });

    it('reads progress, and streams JSONL results line by line across chunks', async () => {
      const lines = ['{"id":"d1","image":"bus.jpg","status":"completed","detections":[]}', '{"id":"d2","image":"image-2","status":"failed","detections":[]}'];
      const { fn, calls } = fakeFetch((url) =>
        url.includes('/results') ? new Response(stream([lines[0]?.slice(0, 20) ?? '', `${lines[0]?.slice(20)}\n${lines[1]}`, '\n']), { headers: { 'content-type': 'application/x-ndjson' } }) : json(batch),
      );
      const client = new ArgusClient({ baseUrl: 'http://a', fetch: fn });
      expect(await client.getBatch('b1')).toEqual(batch);
      const results = [];
      for await (const result of client.batchResults('b1')) results.push([result.id, result.image, result.status]);
      expect(results).toEqual([
        ['d1', 'bus.jpg', 'completed'],
        ['d2', 'image-2', 'failed'],
      ]);
      expect(calls.map((c) => c.url)).toEqual(['http://a/v1/batches/b1', 'http://a/v1/batches/b1/results?format=jsonl']);
    });

    it('downloads a results file in the format asked for', async () => {
      const { fn, calls } = fakeFetch(() => new Response(stream(['id,label\n', 'd1,bus\n']), { headers: { 'content-type': 'text/csv' } }));
      const download = await new ArgusClient({ baseUrl: 'http://a', fetch: fn }).downloadBatchResults('b1', { format: 'csv' });
      expect(download.contentType).toBe('text/csv');
      expect(await new Response(download.body).text()).toBe('id,label\nd1,bus\n');
      expect(calls[0]?.url).toBe('http://a/v1/batches/b1/results?format=csv');
    });

    it('waits for a batch until every image is done', async () => {
      let polls = 0;
      const { fn } = fakeFetch(() => {
        polls++;
        return json({ ...batch, completed: Math.min(polls, 2), failed: polls >= 3 ? 1 : 0 });
      });
      const done = await new ArgusClient({ baseUrl: 'http://a', fetch: fn }).waitForBatch('b1', { pollMs: 1 });
      expect([done.completed, done.failed, polls]).toEqual([2, 1, 3]);
    });
  });

  describe('events and waiting', () => {
    it('follows events until the result', async () => {
      const body = stream([
        'retry: 3000\n\nid: 1\nevent: status\ndata: {"id":"d1","status":"queued","at":"t0"}\n\n: heartbeat\n\n',
        'id: 2\nevent: sta',
        'tus\ndata: {"id":"d1","status":"completed","at":"t1"}\n\nid: result\nevent: result\ndata: {"id":"d1","status":"completed","detections":[]}\n\n',
      ]);
      const { fn, calls } = fakeFetch(() => new Response(body, { headers: { 'content-type': 'text/event-stream' } }));
      const events = [];
      for await (const event of new ArgusClient({ baseUrl: 'http://a', fetch: fn }).events('d1')) events.push(event);
      expect(events).toEqual([
        { type: 'status', id: 'd1', status: 'queued', at: 't0' },
        { type: 'status', id: 'd1', status: 'completed', at: 't1' },
        { type: 'result', detection: view('completed') },
      ]);
      expect(calls[0]?.headers['accept']).toBe('text/event-stream');
    });

    it('ends the stream with the error the server sent', async () => {
      const body = stream(['event: error\ndata: {"error":{"code":"unavailable","message":"Redis went away"}}\n\n']);
      const client = new ArgusClient({ baseUrl: 'http://a', fetch: fakeFetch(() => new Response(body, { headers: { 'content-type': 'text/event-stream' } })).fn });
      await expect(client.events('d1').next()).rejects.toMatchObject({ code: 'unavailable', message: 'Redis went away' });
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

    it('stops waiting for an unknown detection at once', async () => {
      const { fn, calls } = fakeFetch(() => apiError(404, 'not_found', 'no such detection'));
      await expect(new ArgusClient({ baseUrl: 'http://a', fetch: fn }).waitFor('nope')).rejects.toMatchObject({ status: 404, code: 'not_found' });
      expect(calls).toHaveLength(1);
    });

    it('counts a canceled detection as ended', async () => {
      const { fn } = fakeFetch((url) => (url.endsWith('/events') ? new Response('no', { status: 502 }) : json(view('canceled'))));
      expect(await new ArgusClient({ baseUrl: 'http://a', fetch: fn }).waitFor('d1')).toEqual(view('canceled'));
    });

    it('detect returns a finished submission as it is, and waits for a queued one', async () => {
      const finished = fakeFetch(() => json(view('completed')));
      expect(await new ArgusClient({ baseUrl: 'http://a', fetch: finished.fn }).detect(new Uint8Array([1]), { wait: 1000 })).toEqual(view('completed'));
      expect(finished.calls).toHaveLength(1);

      const queued = fakeFetch((url, init) => (init.method === 'POST' ? json(view('queued'), 202) : url.endsWith('/events') ? new Response('', { status: 502 }) : json(view('completed'))));
      expect(await new ArgusClient({ baseUrl: 'http://a', fetch: queued.fn }).detect(new Uint8Array([1]))).toEqual(view('completed'));
      expect(queued.calls.map((c) => c.url)).toEqual(['http://a/v1/detections', 'http://a/v1/detections/d1/events', 'http://a/v1/detections/d1']);
    });
  });

  it('asks for the annotated image in the format given', async () => {
    const { fn, calls } = fakeFetch(() => new Response(new Uint8Array([0x89, 0x50]), { headers: { 'content-type': 'image/png' } }));
    const image = await new ArgusClient({ baseUrl: 'http://a', fetch: fn }).annotated('d 1', { format: 'png', wait: 50 });
    expect(calls[0]?.url).toBe('http://a/v1/detections/d%201/annotated?format=png&wait=50');
    expect(image).toEqual({ data: new Uint8Array([0x89, 0x50]), contentType: 'image/png' });
  });
});

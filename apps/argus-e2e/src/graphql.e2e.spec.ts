import type { DetectionView } from '@argus/contracts';
import { type Stack, startStack } from '@argus/testing';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { eventually, keysCli, labelCounts, photo } from './helpers';

interface GqlResult<T> {
  data?: T | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

/** A value the test needs (the data of a successful operation); fails loudly when absent. */
function must<T>(value: T | null | undefined): T {
  if (value === null || value === undefined) throw new Error('expected a value');
  return value;
}

const DETECTION_FIELDS = 'id status priority cached model { name version } image { width height sha256 } detections { label classId score } error { code message }';

describe('GraphQL at /graphql (real stack)', () => {
  let stack: Stack;

  /** A GraphQL request as JSON, with the stack's API key. */
  async function gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<{ status: number; body: GqlResult<T> }> {
    const res = await fetch(`${stack.baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': stack.apiKey },
      body: JSON.stringify({ query, variables }),
    });
    return { status: res.status, body: (await res.json()) as GqlResult<T> };
  }

  beforeAll(async () => {
    // A depth limit low enough that a real query of this schema can exceed it (the schema has no cycles).
    // Short socket limits, so that the tests can reach them; keys re-checked every second.
    stack = await startStack({
      label: 'graphql',
      env: { GRAPHQL_MAX_DEPTH: '4', MAX_IMAGE_BYTES: '1000000', GRAPHQL_WS_INIT_TIMEOUT_MS: '1500', GRAPHQL_WS_MAX_SUBSCRIPTIONS: '2', API_KEY_CACHE_SECONDS: '1' },
    });
  });
  afterAll(() => stack?.stop());

  let uploaded: DetectionView;

  it('submits bus.jpg as an Upload (GraphQL multipart request spec) and finds 4 persons and a bus', async () => {
    const form = new FormData();
    form.set(
      'operations',
      JSON.stringify({
        query: `mutation Submit($image: Upload!, $options: DetectionOptions) { submitDetection(image: $image, options: $options) { ${DETECTION_FIELDS} } }`,
        variables: { image: null, options: { wait: 20000, priority: 'high' } },
      }),
    );
    form.set('map', JSON.stringify({ 0: ['variables.image'] }));
    form.set('0', new Blob([new Uint8Array(photo('bus.jpg'))], { type: 'image/jpeg' }), 'bus.jpg');
    const res = await fetch(`${stack.baseUrl}/graphql`, { method: 'POST', body: form, headers: { 'x-api-key': stack.apiKey } });
    const body = (await res.json()) as GqlResult<{ submitDetection: DetectionView }>;
    expect(body.errors).toBeUndefined();
    uploaded = must(body.data).submitDetection;
    expect(uploaded).toMatchObject({ status: 'completed', priority: 'high', cached: false, model: { name: 'yolox-nano' }, image: { width: 810, height: 1080 }, error: null });
    expect(labelCounts(uploaded.detections, 0.25)).toEqual({ person: 4, bus: 1 });
  });

  it('submits the same photo as base64 in a variable: answered from the cache, same boxes', async () => {
    const { body } = await gql<{ submitDetection: DetectionView }>(
      `mutation($b64: String!) { submitDetection(imageBase64: $b64, options: { wait: 20000 }) { ${DETECTION_FIELDS} } }`,
      { b64: `data:image/jpeg;base64,${photo('bus.jpg').toString('base64')}` },
    );
    expect(body.errors).toBeUndefined();
    expect(must(body.data).submitDetection).toMatchObject({ status: 'completed', cached: true, image: { sha256: uploaded.image.sha256 } });
    expect(must(body.data).submitDetection.detections).toEqual(uploaded.detections);
  });

  it('takes base64 up to MAX_IMAGE_BYTES (a JSON body above the global 1 MB), and refuses larger images with payload_too_large', async () => {
    const saw = photo('saw-2725x2225.jpg'); // 829 KB: about 1.1 MB as base64
    const ok = await gql<{ submitDetection: DetectionView }>(`mutation($b: String!) { submitDetection(imageBase64: $b, options: { wait: 20000 }) { status image { width height } } }`, {
      b: saw.toString('base64'),
    });
    expect(ok.body.errors).toBeUndefined();
    expect(must(ok.body.data).submitDetection).toMatchObject({ status: 'completed', image: { width: 2725, height: 2225 } });

    const big = photo('synthetic-gray-20000x14000.jpg'); // 1.09 MB > MAX_IMAGE_BYTES here
    const tooBig = await gql(`mutation($b: String!) { submitDetection(imageBase64: $b) { id } }`, { b: big.toString('base64') });
    expect(tooBig.status).toBe(413);
    expect(tooBig.body.errors?.[0]?.extensions).toMatchObject({ code: 'payload_too_large' });

    const form = new FormData();
    form.set('operations', JSON.stringify({ query: 'mutation($f: Upload!) { submitDetection(image: $f) { id } }', variables: { f: null } }));
    form.set('map', JSON.stringify({ f: ['variables.f'] }));
    form.set('f', new Blob([new Uint8Array(big)]), 'big.jpg');
    const res = await fetch(`${stack.baseUrl}/graphql`, { method: 'POST', body: form, headers: { 'x-api-key': stack.apiKey } });
    expect(res.status).toBe(413);
    expect(((await res.json()) as GqlResult<unknown>).errors?.[0]?.extensions).toMatchObject({ code: 'payload_too_large' });
  });

  it('reads the detection back through detection(id) and detections(...) with cursor pagination', async () => {
    const one = await gql<{ detection: DetectionView }>(`query($id: ID!) { detection(id: $id) { ${DETECTION_FIELDS} } }`, { id: uploaded.id });
    expect(must(one.body.data).detection).toMatchObject({ id: uploaded.id, status: 'completed', detections: uploaded.detections });

    interface Page {
      detections: { items: DetectionView[]; nextCursor: string | null; hasNextPage: boolean };
    }
    const pageQuery = `query($after: String) { detections(model: "yolox-nano", status: completed, first: 1, after: $after) { items { id cached priority } nextCursor hasNextPage } }`;
    const walk = async () => {
      const items: { id: string; cached: boolean; priority: string }[] = [];
      let after: string | null = null;
      for (;;) {
        const page: Page['detections'] = must((await gql<Page>(pageQuery, { after })).body.data).detections;
        expect(page.items.length).toBeLessThanOrEqual(1);
        items.push(...(page.items as unknown as typeof items));
        if (!page.hasNextPage) return items;
        after = page.nextCursor;
      }
    };
    // Three rows (upload, base64 cache hit, the saw) once apps/results has persisted them; one per page, newest first.
    const all = await eventually(async () => {
      const items = await walk();
      return items.length === 3 ? items : undefined;
    });
    expect(new Set(all.map((i) => i.id)).size).toBe(3);
    expect(all[2]).toEqual({ id: uploaded.id, cached: false, priority: 'high' });
    expect(all[1]).toMatchObject({ cached: true });

    const none = await gql<Page>(`{ detections(priority: low) { items { id } hasNextPage } }`);
    expect(must(none.body.data).detections).toEqual({ items: [], hasNextPage: false });
    const range = await gql<Page>(`query($from: String) { detections(from: $from) { items { id } } }`, { from: new Date(Date.now() + 60000).toISOString() });
    expect(must(range.body.data).detections.items).toEqual([]);
  });

  it('lists the models with their labels', async () => {
    const { body } = await gql<{ models: { name: string; family: string; labels: string[]; workers: number }[] }>(`{ models { name family labels workers } }`);
    expect(must(body.data).models.map((m) => m.name)).toEqual(['yolov8n-int8', 'yolox-nano']);
    expect(must(body.data).models[1]).toMatchObject({ family: 'yolox', workers: 1 });
    expect(must(body.data).models[1]?.labels).toEqual(expect.arrayContaining(['person', 'bus']));
  });

  it('offers introspection and GraphiQL outside production', async () => {
    const { body } = await gql<{ __schema: { types: { name: string }[] } }>(`{ __schema { types { name } } }`);
    expect(must(body.data).__schema.types.map((t) => t.name)).toEqual(expect.arrayContaining(['Detection', 'Upload', 'DetectionEvent']));
    const page = await fetch(`${stack.baseUrl}/graphql`, { headers: { accept: 'text/html', 'x-api-key': stack.apiKey } });
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/graphiql/i);
  });

  it('refuses an over-deep query before running it, with the REST code', async () => {
    const { status, body } = await gql(`{ detections { items { detections { box { x1 } } } } }`);
    expect(status).toBe(400);
    expect(body.data).toBeUndefined();
    expect(body.errors?.[0]?.message).toMatch(/too deep: 5 levels.*at most 4/);
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'validation_failed', status: 400, limit: 'depth' });
  });

  it('refuses an over-costly query (aliases multiplying a large page)', async () => {
    const aliases = Array.from({ length: 20 }, (_, i) => `a${i}: detections(first: 100) { items { id status cached } }`).join(' ');
    const { status, body } = await gql(`{ ${aliases} }`);
    expect(status).toBe(400);
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'validation_failed', limit: 'cost' });
  });

  it('answers errors with the same codes as REST in extensions.code', async () => {
    const unknown = await gql(`{ detection(id: "01a2014a-0000-7000-8000-000000000000") { id } }`);
    expect(unknown.body.errors?.[0]?.extensions).toMatchObject({ code: 'not_found', status: 404 });

    const notImage = await gql(`mutation { submitDetection(imageBase64: "${Buffer.from('hello, not an image at all').toString('base64')}") { id } }`);
    expect(notImage.body.errors?.[0]?.extensions).toMatchObject({ code: 'not_an_image', status: 415 });

    const noImage = await gql(`mutation { submitDetection(options: { model: "yolox-nano" }) { id } }`);
    expect(noImage.body.errors?.[0]?.extensions).toMatchObject({ code: 'missing_image' });

    const badModel = await gql(`mutation($b: String!) { submitDetection(imageBase64: $b, options: { model: "nope" }) { id } }`, { b: photo('bus.jpg').toString('base64') });
    expect(badModel.body.errors?.[0]?.extensions).toMatchObject({ code: 'unknown_model', status: 422 });

    const badPage = await gql(`{ detections(first: 1000) { items { id } } }`);
    expect(badPage.body.errors?.[0]?.extensions).toMatchObject({ code: 'validation_failed' });

    const syntax = await gql(`{ detection(id: "x") { id `);
    expect(syntax.status).toBe(400);
    expect(syntax.body.errors?.[0]?.extensions).toMatchObject({ code: 'validation_failed', graphqlCode: 'GRAPHQL_PARSE_FAILED' });
  });

  it('pushes a job\'s status changes over graphql-ws, the last one with the detection', async () => {
    const submitted = await gql<{ submitDetection: DetectionView }>(`mutation($b: String!) { submitDetection(imageBase64: $b) { id status } }`, {
      b: photo('darknet-dog.jpg').toString('base64'),
    });
    const id = must(submitted.body.data).submitDetection.id;
    const client = createClient({ url: `${stack.baseUrl.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { 'x-api-key': stack.apiKey }, retryAttempts: 0 });
    try {
      const events: { status: string; detection: DetectionView | null }[] = [];
      await new Promise<void>((resolve, reject) => {
        client.subscribe<{ detectionEvents: { status: string; detection: DetectionView | null } }>(
          { query: `subscription($id: ID!) { detectionEvents(id: $id) { id status at detection { id status detections { label } } } }`, variables: { id } },
          { next: (value) => (value.data ? events.push(value.data.detectionEvents) : reject(new Error(JSON.stringify(value.errors)))), error: reject, complete: resolve },
        );
      });
      const last = events[events.length - 1];
      expect(last).toMatchObject({ status: 'completed', detection: { id, status: 'completed' } });
      expect(labelCounts(must(last?.detection).detections.map((d) => ({ ...d, score: 1 })))).toMatchObject({ dog: 1 });
      expect(events.slice(0, -1).every((e) => e.detection === null && e.status !== 'completed')).toBe(true);
    } finally {
      await client.dispose();
    }
  });

  it('refuses a graphql-ws connection without a valid API key', async () => {
    const client = createClient({ url: `${stack.baseUrl.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { 'x-api-key': 'wrong-key-0123456789' }, retryAttempts: 0 });
    try {
      const outcome = await new Promise<unknown>((resolve) => {
        client.subscribe({ query: `subscription { detectionEvents(id: "x") { id } }` }, { next: () => resolve('next'), error: resolve, complete: () => resolve('complete') });
      });
      expect(outcome).toMatchObject({ code: 4403 });
    } finally {
      await client.dispose();
    }
  });

  it('refuses a megabyte-sized document of cheap fields by its size (413), before parsing it', async () => {
    // 1.2 MB: within this stack's GraphQL body limit (room for a base64 image of MAX_IMAGE_BYTES = 1 MB), so the document limit answers
    const { status, body } = await gql(`{ ${'a: __typename '.repeat(85_000)} }`);
    expect(status).toBe(413);
    expect(body.data).toBeUndefined();
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'payload_too_large', status: 413, limit: 'document_bytes', maxBytes: 32768 });
  });

  it('refuses a document of many aliases within the size limit by its token count (400), before validating it', async () => {
    const query = `{ ${'a: __typename '.repeat(2300)} }`; // 32 204 bytes, 6900 tokens
    expect(Buffer.byteLength(query)).toBeLessThan(32768);
    const { status, body } = await gql(query);
    expect(status).toBe(400);
    expect(body.data).toBeUndefined();
    expect(body.errors?.[0]?.message).toMatch(/more tha.? 2000 tokens/);
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'validation_failed', graphqlCode: 'GRAPHQL_PARSE_FAILED' });
  });

  it('answers OPTIONS on /graphql without a key (no CORS configured: 204)', async () => {
    const res = await fetch(`${stack.baseUrl}/graphql`, { method: 'OPTIONS' });
    expect(res.status).toBe(204);
  });

  describe('graphql-ws limits', () => {
    const url = () => `${stack.baseUrl.replace('http', 'ws')}/graphql`;
    /** A raw graphql-transport-ws socket: what it was sent, and how it closed. */
    function socket(): { ws: WebSocket; messages: Record<string, unknown>[]; closed: Promise<{ code: number; reason: string }>; opened: Promise<void> } {
      const ws = new WebSocket(url(), 'graphql-transport-ws');
      const messages: Record<string, unknown>[] = [];
      ws.on('message', (data) => messages.push(JSON.parse(String(data)) as Record<string, unknown>));
      const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
      const opened = new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      return { ws, messages, closed, opened };
    }
    const acked = async (key = stack.apiKey) => {
      const s = socket();
      await s.opened;
      s.ws.send(JSON.stringify({ type: 'connection_init', payload: { 'x-api-key': key } }));
      await eventually(async () => (s.messages.some((m) => m['type'] === 'connection_ack') ? true : undefined), 10000, 20);
      return s;
    };

    it('closes a socket that sends a message over GRAPHQL_WS_MAX_PAYLOAD_BYTES (1009), and keeps serving', async () => {
      const s = await acked();
      s.ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: `subscription { detectionEvents(id: "${'x'.repeat(200 * 1024)}") { id } }` } }));
      expect((await s.closed).code).toBe(1009);
      const again = await acked();
      again.ws.close();
    });

    it('closes a socket that does not send connection_init in time (4408)', async () => {
      const s = socket();
      await s.opened;
      expect(await s.closed).toMatchObject({ code: 4408 });
    });

    it('refuses a socket whose connection_init has no valid key (4403)', async () => {
      const s = socket();
      await s.opened;
      s.ws.send(JSON.stringify({ type: 'connection_init', payload: { 'x-api-key': 'argus_000000000000_' + 'A'.repeat(43) } }));
      expect((await s.closed).code).toBe(4403);
    });

    it('takes only subscriptions: a query or a mutation over the socket is refused, pointing to HTTP', async () => {
      const s = await acked();
      s.ws.send(JSON.stringify({ id: 'q', type: 'subscribe', payload: { query: '{ models { name } }' } }));
      s.ws.send(JSON.stringify({ id: 'm', type: 'subscribe', payload: { query: 'mutation { submitDetection(imageBase64: "eA==") { id } }' } }));
      const errors = await eventually(async () => {
        const e = s.messages.filter((m) => m['type'] === 'error');
        return e.length === 2 ? e : undefined;
      }, 10000, 20);
      for (const e of errors) {
        expect(e['payload']).toEqual([expect.objectContaining({ message: expect.stringMatching(/Only subscriptions over WebSocket/), extensions: expect.objectContaining({ code: 'validation_failed', limit: 'subscriptions_only' }) })]);
      }
      expect(s.messages.some((m) => m['type'] === 'next')).toBe(false);
      s.ws.close();
    });

    it('holds a socket to GRAPHQL_WS_MAX_SUBSCRIPTIONS at once', async () => {
      const s = await acked();
      // three subscribe messages in one go: the third finds two places taken
      for (const id of ['s1', 's2', 's3']) s.ws.send(JSON.stringify({ id, type: 'subscribe', payload: { query: `subscription { detectionEvents(id: "${id}") { id } }` } }));
      const refused = await eventually(async () => s.messages.find((m) => m['id'] === 's3' && m['type'] === 'error'), 10000, 20);
      expect(refused['payload']).toEqual([expect.objectContaining({ message: expect.stringMatching(/At most 2 subscriptions per socket/), extensions: expect.objectContaining({ limit: 'subscriptions' }) })]);
      s.ws.close();
    });

    it('closes an open socket once its key is revoked (4403)', async () => {
      const key = await keysCli(stack, 'create', '--name', 'ws client');
      const s = await acked(key);
      await keysCli(stack, 'revoke', key.slice(6, 18));
      expect(await s.closed).toMatchObject({ code: 4403, reason: expect.stringMatching(/no longer accepted/) });
    });
  });
});

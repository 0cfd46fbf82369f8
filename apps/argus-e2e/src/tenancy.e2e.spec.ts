import type { DetectionView } from '@argus/contracts';
import { type Stack, startStack } from '@argus/testing';
import { createClient } from 'graphql-ws';
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { photo, upload } from './helpers';

/** Three clients of one stack: two tenants and an operator whose key carries the admin scope. */
const ALICE = `alice-${randomUUID()}`;
const BOB = `bob-${randomUUID()}`;
const OPS = `ops-${randomUUID()}`;
const API_KEYS = `alice:${ALICE},bob:${BOB},ops/admin:${OPS}`;

type GqlResult<T> = { data?: T | null; errors?: { message: string; extensions?: Record<string, unknown> }[] };

async function get(stack: Stack, path: string, key: string): Promise<{ status: number; code: string | undefined; type: string | null }> {
  const res = await fetch(`${stack.baseUrl}${path}`, { headers: { 'x-api-key': key } });
  const type = res.headers.get('content-type');
  let code: string | undefined;
  if (type?.startsWith('application/json')) code = ((await res.json()) as { error?: { code?: string } }).error?.code;
  else await res.arrayBuffer();
  return { status: res.status, code, type };
}

async function gql<T>(stack: Stack, key: string, query: string, variables: Record<string, unknown> = {}): Promise<GqlResult<T>> {
  const res = await fetch(`${stack.baseUrl}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: JSON.stringify({ query, variables }) });
  return (await res.json()) as GqlResult<T>;
}

/** The first message of a detectionEvents subscription over graphql-ws as `key`: its data, or its error. */
async function firstEvent(stack: Stack, key: string, id: string): Promise<unknown> {
  const client = createClient({ url: `${stack.baseUrl.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { 'x-api-key': key }, retryAttempts: 0 });
  try {
    return await new Promise<unknown>((resolve) => {
      client.subscribe(
        { query: `subscription($id: ID!) { detectionEvents(id: $id) { id status } }`, variables: { id } },
        { next: (value) => resolve(value.errors ? { errors: value.errors } : value.data), error: (error) => resolve({ errors: error }), complete: () => resolve('complete') },
      );
    });
  } finally {
    await client.dispose();
  }
}

describe('tenancy: every read is scoped to the client that submitted; admin keys read all', () => {
  let stack: Stack;
  let aliceId: string;

  beforeAll(async () => {
    stack = await startStack({ label: 'tenancy', env: { API_KEYS } });
    const res = await upload(stack, photo('bus.jpg'), {}, '?wait=30000', { 'x-api-key': ALICE });
    expect(res.status).toBe(200);
    aliceId = String(res.body['id']);
  });
  afterAll(() => stack?.stop());

  it('answers another client 404 not_found on REST get, annotated image and events, as for an id that never existed', async () => {
    const never = randomUUID();
    for (const suffix of ['', '/annotated', '/events']) {
      const missing = await get(stack, `/v1/detections/${never}${suffix}`, BOB);
      const other = await get(stack, `/v1/detections/${aliceId}${suffix}`, BOB);
      expect({ suffix, ...other }).toEqual({ suffix, status: 404, code: 'not_found', type: missing.type });
      expect(missing).toMatchObject({ status: 404, code: 'not_found' });
    }
  });

  it('answers the owner and an admin key 200 on the same reads', async () => {
    for (const key of [ALICE, OPS]) {
      expect(await get(stack, `/v1/detections/${aliceId}`, key)).toMatchObject({ status: 200 });
      expect(await get(stack, `/v1/detections/${aliceId}/annotated`, key)).toMatchObject({ status: 200, type: 'image/jpeg' });
      expect(await get(stack, `/v1/detections/${aliceId}/events`, key)).toMatchObject({ status: 200, type: expect.stringContaining('text/event-stream') });
    }
  });

  it('scopes GraphQL detection and detections the same way', async () => {
    const one = `query($id: ID!) { detection(id: $id) { id status } }`;
    expect((await gql(stack, BOB, one, { id: aliceId })).errors?.[0]?.extensions).toMatchObject({ code: 'not_found' });
    expect((await gql<{ detection: DetectionView }>(stack, ALICE, one, { id: aliceId })).data?.detection.id).toBe(aliceId);
    expect((await gql<{ detection: DetectionView }>(stack, OPS, one, { id: aliceId })).data?.detection.id).toBe(aliceId);

    const list = `{ detections(first: 100) { items { id } } }`;
    const ids = async (key: string) => ((await gql<{ detections: { items: { id: string }[] } }>(stack, key, list)).data?.detections.items ?? []).map((d) => d.id);
    // The row lands a moment after the answer: wait until the owner sees it, then compare.
    for (let i = 0; i < 100 && !(await ids(ALICE)).includes(aliceId); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await ids(ALICE)).toContain(aliceId);
    expect(await ids(OPS)).toContain(aliceId);
    expect(await ids(BOB)).not.toContain(aliceId);
  });

  it('scopes the GraphQL detectionEvents subscription', async () => {
    expect(await firstEvent(stack, BOB, aliceId)).toMatchObject({ errors: [expect.objectContaining({ extensions: expect.objectContaining({ code: 'not_found' }) })] });
    expect(await firstEvent(stack, ALICE, aliceId)).toMatchObject({ detectionEvents: { id: aliceId } });
    expect(await firstEvent(stack, OPS, aliceId)).toMatchObject({ detectionEvents: { id: aliceId } });
  });

  it("never tells a client that another client sent the same photo (cached: true only on its own earlier work)", async () => {
    const first = await upload(stack, photo('bus.jpg'), {}, '?wait=30000', { 'x-api-key': BOB });
    expect(first).toMatchObject({ status: 200, body: { cached: false } });
    const again = await upload(stack, photo('bus.jpg'), {}, '?wait=30000', { 'x-api-key': BOB });
    expect(again).toMatchObject({ status: 200, body: { cached: true } });
  });
});

describe('CACHE_SCOPE=global: one organisation behind every key shares results', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ label: 'tenancy-global', env: { API_KEYS, CACHE_SCOPE: 'global' } });
  });
  afterAll(() => stack?.stop());

  it("answers bob's first upload of alice's photo from the cache", async () => {
    expect(await upload(stack, photo('zidane.jpg'), {}, '?wait=30000', { 'x-api-key': ALICE })).toMatchObject({ status: 200, body: { cached: false } });
    const bob = await upload(stack, photo('zidane.jpg'), {}, '?wait=30000', { 'x-api-key': BOB });
    expect(bob).toMatchObject({ status: 200, body: { cached: true } });
    // Sharing the result does not share the reading: alice still cannot read bob's request.
    expect(await get(stack, `/v1/detections/${String(bob.body['id'])}`, ALICE)).toMatchObject({ status: 404, code: 'not_found' });
  });
});

import { type DetectionPage, JobName, QueueName } from '@argus/contracts';
import { type Stack, startStack } from '@argus/testing';
import { Queue, QueueEvents } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { corruptPng, eventually, photo, upload } from './helpers';

/** Two tenants and an operator whose key carries the admin scope. */
const ALICE = `alice-${randomUUID()}`;
const BOB = `bob-${randomUUID()}`;
const OPS = `ops-${randomUUID()}`;

type Answer<T> = { status: number; body: T };

async function list(stack: Stack, key: string, query = ''): Promise<Answer<DetectionPage & { error?: { code: string; message: string } }>> {
  const res = await fetch(`${stack.baseUrl}/v1/detections${query}`, { headers: { 'x-api-key': key } });
  return { status: res.status, body: (await res.json()) as DetectionPage & { error?: { code: string; message: string } } };
}

/** Every page of a key's list, following nextCursor. */
async function everything(stack: Stack, key: string, query: string, limit: number): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const sep: string = query ? '&' : '?';
    const page: Answer<DetectionPage> = await list(stack, key, `${query}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    expect(page.status).toBe(200);
    expect(page.body.items.length).toBeLessThanOrEqual(limit);
    ids.push(...page.body.items.map((d) => d.id));
    cursor = page.body.nextCursor;
    pages += 1;
  } while (cursor !== null && pages < 50);
  return { ids, pages };
}

describe('GET /v1/detections: a client\'s own detections, newest first, a page at a time (real stack)', () => {
  let stack: Stack;
  const alice: string[] = [];
  let bob: string;
  let failedId: string;
  let v8Id: string;

  beforeAll(async () => {
    stack = await startStack({ label: 'listing', env: { API_KEYS: `alice:${ALICE},bob:${BOB},ops/admin:${OPS}` } });
    for (const name of ['bus.jpg', 'zidane.jpg', 'darknet-dog.jpg', 'coco-000000002006-bus-640x480.jpg']) {
      const res = await upload(stack, photo(name), {}, '?wait=30000', { 'x-api-key': ALICE });
      expect(res.status).toBe(200);
      alice.push(String(res.body['id']));
    }
    const v8 = await upload(stack, photo('bus.jpg'), { model: 'yolov8n-int8' }, '?wait=30000', { 'x-api-key': ALICE });
    expect(v8.status).toBe(200);
    v8Id = String(v8.body['id']);
    alice.push(v8Id);
    const broken = await upload(stack, corruptPng(), {}, '?wait=30000', { 'x-api-key': ALICE });
    expect(broken.body['status']).toBe('failed');
    failedId = String(broken.body['id']);
    alice.push(failedId);
    const mine = await upload(stack, photo('bus.jpg'), {}, '?wait=30000', { 'x-api-key': BOB });
    bob = String(mine.body['id']);
    // Rows land a moment after the answers.
    await eventually(async () => ((await list(stack, ALICE, '?limit=100')).body.items.length === alice.length ? true : undefined), 30000);
    await eventually(async () => ((await list(stack, BOB)).body.items.length === 1 ? true : undefined), 30000);
  });
  afterAll(() => stack?.stop());

  it('pages through a client\'s detections newest first with cursors, each once, and nobody else\'s', async () => {
    const { ids, pages } = await everything(stack, ALICE, '', 2);
    expect(pages).toBe(3);
    // Request ids are time-ordered (UUIDv7): newest first is the reverse of submission order.
    expect(ids).toEqual([...alice].reverse());
    expect(ids).not.toContain(bob);
    expect((await everything(stack, BOB, '', 2)).ids).toEqual([bob]);
  });

  it('lets an admin key list every client\'s detections', async () => {
    const { ids } = await everything(stack, OPS, '', 3);
    expect(ids).toEqual(expect.arrayContaining([...alice, bob]));
  });

  it('filters by status, model and since', async () => {
    expect((await everything(stack, ALICE, '?status=failed', 10)).ids).toEqual([failedId]);
    expect((await everything(stack, ALICE, '?status=completed', 10)).ids).toHaveLength(alice.length - 1);
    expect((await everything(stack, ALICE, '?model=yolov8n-int8', 10)).ids).toEqual([v8Id]);
    expect((await everything(stack, ALICE, '?status=queued', 10)).ids).toEqual([]);
    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await everything(stack, ALICE, `?since=${encodeURIComponent(future)}`, 10)).ids).toEqual([]);
    const detail = (await fetch(`${stack.baseUrl}/v1/detections/${alice[2]}`, { headers: { 'x-api-key': ALICE } }).then((r) => r.json())) as { createdAt: string };
    const since = (await everything(stack, ALICE, `?since=${encodeURIComponent(detail.createdAt)}`, 10)).ids;
    expect(since).toEqual(alice.slice(2).reverse());
  });

  it('answers 400 validation_failed for bad parameters, naming them', async () => {
    for (const [query, pattern] of [
      ['?limit=0', /limit/],
      ['?limit=500', /limit/],
      ['?cursor=not-a-cursor', /cursor/],
      ['?since=yesterday', /since/],
      ['?status=done', /status/],
      ['?after=x', /unknown parameter/],
    ] as const) {
      const answer = await list(stack, ALICE, query);
      expect({ query, status: answer.status, code: answer.body.error?.code }).toEqual({ query, status: 400, code: 'validation_failed' });
      expect(answer.body.error?.message).toMatch(pattern);
    }
  });

  it('gives GraphQL the same list: since, after and first, scoped the same way', async () => {
    const gql = async (key: string, query: string, variables: Record<string, unknown> = {}) => {
      const res = await fetch(`${stack.baseUrl}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: JSON.stringify({ query, variables }) });
      return (await res.json()) as { data?: { detections: { items: { id: string }[]; nextCursor: string | null } }; errors?: { extensions?: { code?: string } }[] };
    };
    const query = `query($after: String, $since: String) { detections(first: 4, after: $after, since: $since) { items { id } nextCursor } }`;
    const first = await gql(ALICE, query);
    const second = await gql(ALICE, query, { after: first.data?.detections.nextCursor });
    expect([...(first.data?.detections.items ?? []), ...(second.data?.detections.items ?? [])].map((d) => d.id)).toEqual([...alice].reverse());
    expect((await gql(BOB, query)).data?.detections.items.map((d) => d.id)).toEqual([bob]);
    expect((await gql(ALICE, query, { since: 'yesterday' })).errors?.[0]?.extensions?.code).toBe('validation_failed');
  });

  it('retention deletes rows older than RESULTS_RETENTION_DAYS (30 by default), and only those', async () => {
    const table = `"${stack.schema}"."detections"`;
    const old = [randomUUID(), randomUUID(), randomUUID()];
    const recent = randomUUID();
    const insert = (id: string, daysAgo: number) =>
      stack.query(
        `INSERT INTO ${table} (id, work_key, status, priority, model_name, model_version, image_sha256, image_width, image_height, image_bytes, params, client_id, created_at, completed_at)
         VALUES ($1, repeat('a', 64), 'completed', 'normal', 'yolox-nano', 'v1', repeat('b', 64), 10, 10, 100, '{}', 'cfg:alice', now() - make_interval(days => $2), now() - make_interval(days => $2))`,
        [id, daysAgo],
      );
    for (const id of old) await insert(id, 45);
    await insert(recent, 20);
    const count = async (ids: string[]) => Number(((await stack.query(`SELECT count(*) AS n FROM ${table} WHERE id = ANY($1::uuid[])`, [ids])).rows[0] as { n: string }).n);
    expect(await count([...old, recent])).toBe(4);

    // Run the retention job once, as the hourly schedule would.
    const connection = stack.redis.duplicate({ maxRetriesPerRequest: null });
    const maintenance = new Queue(QueueName.Maintenance, { connection, prefix: stack.prefix });
    const events = new QueueEvents(QueueName.Maintenance, { connection: connection.duplicate(), prefix: stack.prefix });
    try {
      await events.waitUntilReady();
      const job = await maintenance.add(JobName.Retention, {});
      const slice = (await job.waitUntilFinished(events, 30000)) as { detections: number; cutoff: string };
      expect(slice.detections).toBe(3);
      expect(Date.parse(slice.cutoff)).toBeLessThan(Date.now() - 29 * 86_400_000);
    } finally {
      await events.close();
      await maintenance.close();
      connection.disconnect();
    }
    expect(await count(old)).toBe(0);
    expect(await count([recent])).toBe(1);
    expect((await everything(stack, ALICE, '', 100)).ids).toEqual(expect.arrayContaining(alice));
  });
});

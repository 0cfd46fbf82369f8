import { ArgusClient, type DetectionStreamEvent, parseServerSentEvents } from '@argus/client';
import { type Stack, startStack } from '@argus/testing';
import { call, labelCounts, photo } from './helpers';

/** Collects a detection's events until the result (or `timeoutMs`). */
async function collect(client: ArgusClient, id: string, timeoutMs = 60000): Promise<DetectionStreamEvent[]> {
  const events: DetectionStreamEvent[] = [];
  for await (const event of client.events(id, { signal: AbortSignal.timeout(timeoutMs) })) events.push(event);
  return events;
}

const statuses = (events: DetectionStreamEvent[]) => events.flatMap((e) => (e.type === 'status' ? [e.status] : []));

describe('GET /v1/detections/:id/events (Server-Sent Events, real stack)', () => {
  let stack: Stack;
  let client: ArgusClient;

  beforeAll(async () => {
    stack = await startStack({ label: 'events', env: { EVENTS_HEARTBEAT_MS: '200' } });
    client = new ArgusClient({ baseUrl: stack.baseUrl, apiKey: stack.apiKey });
  });
  afterAll(() => stack?.stop());

  it('streams queued, active and completed in order for a job that waits for a worker, then the result', async () => {
    await stack.stopApp('inference'); // the job stays queued until a worker comes back
    const { status, detection } = await client.submit(photo('bus.jpg'), { priority: 'high' });
    expect(status).toBe(202);
    const sharing = await client.submit(photo('bus.jpg'), { priority: 'low' }); // rides on the same job
    const following = collect(client, detection.id);
    const alsoFollowing = collect(client, sharing.detection.id);

    // While the job waits: heartbeats on an open stream.
    const raw = await call(stack, `/v1/detections/${detection.id}/events`);
    expect(raw.headers.get('content-type')).toMatch(/^text\/event-stream/);
    if (!raw.body) throw new Error('no body');
    const reader = raw.body.getReader();
    let text = '';
    const until = Date.now() + 3000;
    while (!text.includes(': heartbeat') && Date.now() < until) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    expect(text).toContain('event: status');
    expect(text).toContain('"status":"queued"');
    expect(text).toContain(': heartbeat');

    await stack.startApp('inference');
    const events = await following;
    const order = statuses(events);
    expect(order[0]).toBe('queued');
    expect(order).toContain('completed');
    expect(order.indexOf('completed')).toBeGreaterThan(order.indexOf('queued'));
    if (order.includes('active')) expect(order).toEqual(['queued', 'active', 'completed']);
    const last = events[events.length - 1];
    expect(last?.type).toBe('result');
    if (last?.type !== 'result') return;
    expect(last.detection).toMatchObject({ id: detection.id, status: 'completed' });
    expect(labelCounts(last.detection.detections, 0.25)).toEqual({ person: 4, bus: 1 });

    // The request that shared the job hears the same end, with its own id.
    const shared = await alsoFollowing;
    expect(statuses(shared)[0]).toBe('queued');
    expect(shared[shared.length - 1]).toMatchObject({ type: 'result', detection: { id: sharing.detection.id, status: 'completed' } });
  });

  it('says completed at once for a cache hit, and for a detection already finished', async () => {
    const first = await client.submit(photo('zidane.jpg'), { wait: 20000 });
    expect(first.status).toBe(200);
    const hit = await client.submit(photo('zidane.jpg'));
    expect(hit.detection.cached).toBe(true);
    for (const id of [hit.detection.id, first.detection.id]) {
      const events = await collect(client, id, 10000);
      expect(statuses(events)).toEqual(['completed']);
      expect(events[1]).toMatchObject({ type: 'result', detection: { id, status: 'completed' } });
    }
  });

  it('tells an EventSource that has the result to stop (204), and answers an unknown id with a JSON 404', async () => {
    const done = await client.submit(photo('darknet-dog.jpg'), { wait: 20000 });
    const again = await call(stack, `/v1/detections/${done.detection.id}/events`, { headers: { 'last-event-id': 'result' } });
    expect(again.status).toBe(204);

    const unknown = await call(stack, '/v1/detections/01a2014a-0000-7000-8000-000000000000/events');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: { code: 'not_found', message: expect.any(String) } });
  });

  it('frames messages as the SSE standard says: ids, event names, one JSON data line, then the end', async () => {
    const done = await client.submit(photo('darknet-dog.jpg'), { wait: 20000 });
    const res = await call(stack, `/v1/detections/${done.detection.id}/events`);
    const messages = [];
    if (!res.body) throw new Error('no body');
    for await (const message of parseServerSentEvents(res.body)) messages.push(message);
    expect(messages.map((m) => [m.id, m.event])).toEqual([
      ['1', 'status'],
      ['result', 'result'],
    ]);
    expect(JSON.parse(messages[1]?.data ?? 'null')).toMatchObject({ id: done.detection.id, status: 'completed' });
  });

  it('ends open streams at once when the gateway shuts down, so the drain does not wait for them', async () => {
    await stack.stopApp('inference');
    const { detection } = await client.submit(photo('coco-000000000139-livingroom.jpg'));
    const res = await call(stack, `/v1/detections/${detection.id}/events`);
    if (!res.body) throw new Error('no body');
    const reader = res.body.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain('retry:');
    const started = Date.now();
    const stopping = stack.stopApp('api-gateway');
    for (;;) if ((await reader.read().catch(() => ({ done: true }))).done) break;
    expect(Date.now() - started).toBeLessThan(5000); // DRAIN_TIMEOUT_MS is 10 s
    await stopping;
  });
});

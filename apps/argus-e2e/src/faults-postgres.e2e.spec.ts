import { QueueName } from '@argus/contracts';
import { type PostgresServer, type Stack, startPostgresServer, startStack } from '@argus/testing';
import { Queue } from 'bullmq';
import { call, eventually, photo, upload } from './helpers';

describe('faults: Postgres stops for 10 s under load (its own cluster)', () => {
  let postgres: PostgresServer;
  let stack: Stack;

  beforeAll(async () => {
    postgres = await startPostgresServer();
    stack = await startStack({ label: 'faultspg', databaseUrl: postgres.url });
  });
  afterAll(async () => {
    await stack?.stop().catch(() => undefined);
    await postgres?.destroy();
  });

  it('keeps accepting and answering work while Postgres is away, then persists every result, once', async () => {
    const image = photo('zidane.jpg');
    const accepted: string[] = [];
    const statuses: number[] = [];
    let i = 0;
    const submit = async () => {
      const res = await upload(stack, image, { confidence: (0.2 + i++ * 0.001).toFixed(3) }, '?wait=5000');
      statuses.push(res.status);
      if (res.status === 200 || res.status === 202) accepted.push(String(res.body['id']));
      return res;
    };
    for (let k = 0; k < 5; k++) await submit();

    await postgres.stop();
    const stoppedAt = Date.now();
    // results notices and stops taking persist jobs; readiness says why
    await eventually(async () => {
      const res = await fetch(`http://127.0.0.1:${stack.ports.results}/health/ready`);
      const body = (await res.json()) as { checks?: { postgres?: { ok: boolean } } };
      return res.status === 503 && body.checks?.postgres?.ok === false ? true : undefined;
    }, 5000);
    let duringOutage: Awaited<ReturnType<typeof submit>> | undefined;
    while (Date.now() - stoppedAt < 10000) {
      duringOutage = await submit();
      await new Promise((r) => setTimeout(r, 150));
    }
    // the gateway stayed ready (results is not critical to it) and answered with results from Redis
    const gatewayReady = await fetch(`${stack.opsUrl}/health/ready`);
    expect(gatewayReady.status).toBe(200);
    expect(duringOutage?.status).toBe(200);
    const read = await call(stack, `/v1/detections/${String(duringOutage?.body['id'])}`);
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ status: 'completed' });
    await postgres.start();

    for (let k = 0; k < 5; k++) await submit();
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(accepted.length).toBeGreaterThan(30);

    const rows = await eventually(async () => {
      const r = await stack.query(`SELECT id, status FROM "${stack.schema}".detections WHERE id = ANY($1)`, [accepted]);
      return r.rows.length === accepted.length ? (r.rows as { id: string; status: string }[]) : undefined;
    }, 60000, 500);
    expect(rows.map((r) => r.id).sort()).toEqual([...accepted].sort());
    expect(rows.every((r) => r.status === 'completed')).toBe(true);
    // Everything waited in the results queue and left the ledger once persisted; the outage spent
    // no attempt, so no persist job failed for good.
    await eventually(async () => ((await stack.redis.zcard(`${stack.prefix}:unpersisted`)) === 0 ? true : undefined));
    const results = new Queue(QueueName.Results, { connection: stack.redis, prefix: stack.prefix });
    try {
      expect(await results.getJobCountByTypes('failed')).toBe(0);
    } finally {
      await results.close();
    }
    const ready = await fetch(`http://127.0.0.1:${stack.ports.results}/health/ready`);
    expect(ready.status).toBe(200);
  });
});

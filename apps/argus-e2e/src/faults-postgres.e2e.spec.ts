import { QueueName } from '@argus/contracts';
import { type PostgresServer, type Stack, startPostgresServer, startStack } from '@argus/testing';
import { Queue } from 'bullmq';
import { call, eventually, photo, upload } from './helpers';

describe('faults: Postgres stops, hangs, turns read-only under load (its own cluster)', () => {
  let postgres: PostgresServer;
  let stack: Stack;

  beforeAll(async () => {
    postgres = await startPostgresServer();
    // Short statement timeout: a query to a silent server gives up after 2 + 5 s.
    stack = await startStack({ label: 'faultspg', databaseUrl: postgres.url, env: { DATABASE_STATEMENT_TIMEOUT_MS: '2000' } });
  });

  let n = 0;
  /** Uploads zidane.jpg with a confidence of its own (no cache hit: each is work that ends in a row); the ids of the accepted ones go into `into`. */
  const submit = async (into: string[]) => {
    const res = await upload(stack, photo('zidane.jpg'), { confidence: (0.3 + n++ * 0.001).toFixed(3) }, '?wait=10000');
    if (res.status === 200 || res.status === 202) into.push(String(res.body['id']));
    return res;
  };
  const resultsReady = async () => {
    const res = await fetch(`http://127.0.0.1:${stack.ports.results}/health/ready`);
    return { status: res.status, body: (await res.json()) as { checks?: { postgres?: { ok: boolean; detail?: unknown } } } };
  };
  /** Persist jobs that failed for good (none should: an outage spends no attempt). */
  const failedPersistJobs = async () => {
    const results = new Queue(QueueName.Results, { connection: stack.redis, prefix: stack.prefix });
    try {
      return await results.getJobCountByTypes('failed');
    } finally {
      await results.close();
    }
  };
  /** Which of `ids` are still in the ledger of requests not yet in Postgres. */
  const unpersisted = async (ids: string[]) => {
    const scores = await Promise.all(ids.map((id) => stack.redis.zscore(`${stack.prefix}:unpersisted`, id)));
    return ids.filter((_, k) => scores[k] !== null);
  };
  /** Every accepted id has exactly one row, has left the ledger, and no persist job failed. */
  const everyRowOnce = async (accepted: string[]) => {
    const rows = await eventually(async () => {
      const r = await stack.query(`SELECT id, count(*)::int AS n FROM "${stack.schema}".detections WHERE id = ANY($1) GROUP BY id`, [accepted]);
      return r.rows.length === accepted.length ? (r.rows as { id: string; n: number }[]) : undefined;
    }, 90000, 500);
    expect(rows.map((r) => r.id).sort()).toEqual([...accepted].sort());
    expect(rows.every((r) => r.n === 1)).toBe(true);
    // A persist job a stopped process held comes back through BullMQ's stalled check (its row may be in already).
    await eventually(async () => ((await unpersisted(accepted)).length === 0 ? true : undefined), 120000, 500);
    expect(await failedPersistJobs()).toBe(0);
  };
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

  it('survives a Postgres that stops answering (SIGSTOP) while results persist: readiness goes false, SIGTERM still ends it, every row lands once after SIGCONT', async () => {
    const accepted: string[] = [];
    for (let k = 0; k < 3; k++) await submit(accepted);
    postgres.pause();
    try {
      // work goes on being accepted and answered (from Redis); its persist jobs wait in the queue
      for (let k = 0; k < 5; k++) expect((await submit(accepted)).status).toBe(200);
      await eventually(async () => {
        const ready = await resultsReady();
        return ready.status === 503 && ready.body.checks?.postgres?.ok === false ? true : undefined;
      }, 30000);
      // SIGTERM ends it by itself (the harness would SIGKILL it after 15 s): nothing waits on the silent server for good
      const results = stack.process('results');
      await stack.stopApp('results', 'SIGTERM');
      expect({ exitCode: results?.exitCode, signal: results?.signalCode }).toEqual({ exitCode: 0, signal: null });
    } finally {
      postgres.resume();
    }
    await stack.startApp('results');
    await everyRowOnce(accepted);
  });

  it('waits while the database is read-only (as a replica after a failover): nothing set aside, and rows land once it is writable again', async () => {
    const accepted: string[] = [];
    for (let k = 0; k < 2; k++) await submit(accepted);
    await everyRowOnce(accepted);
    // New sessions are read-only; the sessions apps/results has are cut, as a failover cuts them.
    await stack.query(`ALTER DATABASE postgres SET default_transaction_read_only = on`);
    await stack.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'argus-results'`);
    const during: string[] = [];
    try {
      for (let k = 0; k < 5; k++) expect((await submit(during)).status).toBe(200);
      const ready = await eventually(async () => {
        const r = await resultsReady();
        return r.status === 503 ? r : undefined;
      }, 30000);
      expect(ready.body.checks?.postgres).toMatchObject({ ok: false, detail: expect.stringMatching(/read-only/) });
      // a while later: nothing of it was written, no persist job failed, it all waits
      await new Promise((r) => setTimeout(r, 4000));
      const written = await stack.query(`SELECT count(*)::int AS n FROM "${stack.schema}".detections WHERE id = ANY($1)`, [during]);
      expect(written.rows[0]).toEqual({ n: 0 });
      expect(await failedPersistJobs()).toBe(0);
      expect((await unpersisted(during)).sort()).toEqual([...during].sort());
    } finally {
      // Writable again for new sessions. apps/results' own sessions, opened read-only, are not cut
      // this time: it closes each one that refuses a write and opens a fresh one by itself.
      await stack.query(`SET default_transaction_read_only = off; ALTER DATABASE postgres RESET default_transaction_read_only`);
    }
    await everyRowOnce([...accepted, ...during]);
    expect((await resultsReady()).status).toBe(200);
  });
});

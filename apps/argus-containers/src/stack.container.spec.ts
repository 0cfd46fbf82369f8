import { freePorts, metricValue, scrape, testImage, testModelRepository, workspaceRoot } from '@argus/testing';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ComposeStack, waitFor } from './compose-stack';

/**
 * The compose stack as users run it: images built from this checkout by `docker compose build`,
 * started with `docker compose up`, the models given as a folder (the test models, mounted as
 * ./models would be), no internet. Everything is checked from outside the containers: HTTP on the
 * published ports, psql and redis-cli in their containers, `docker kill` of a worker.
 */
const root = workspaceRoot();
const project = process.env.ARGUS_CT_PROJECT ?? `argus-ct-${Date.now()}-${randomBytes(3).toString('hex')}`;
const apiKey = `ct-${randomBytes(16).toString('hex')}`;
const adminPassword = randomBytes(12).toString('hex');
const scratch = join(root, 'tmp', project);

let stack: ComposeStack;
let api: string;
let prometheus: string;

/** POSTs an image to /v1/detections with form fields; the parsed body and the status. */
async function submit(image: string, fields: Record<string, string> = {}, query = ''): Promise<{ status: number; body: Record<string, unknown> }> {
  const form = new FormData();
  form.append('image', new Blob([readFileSync(testImage(image))]), image);
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  const res = await fetch(`${api}/v1/detections${query}`, { method: 'POST', headers: { 'x-api-key': apiKey }, body: form });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const labels = (body: Record<string, unknown>): string[] => ((body.detections as { label: string }[] | undefined) ?? []).map((d) => d.label);

beforeAll(async () => {
  const [httpPort, prometheusPort] = await freePorts(2);
  mkdirSync(scratch, { recursive: true });
  // What a test needs beyond a user's setup: the operations port published on loopback (to check
  // it from outside), and the promtool unit tests beside the alert rules.
  const override = join(scratch, 'docker-compose.test.yml');
  writeFileSync(
    override,
    [
      'services:',
      '  api-gateway:',
      '    ports: ["127.0.0.1::3004"]',
      '  prometheus:',
      '    volumes: ["./monitoring/alerts.test.yml:/etc/prometheus/alerts.test.yml:ro"]',
      '',
    ].join('\n'),
  );
  stack = new ComposeStack(project, [join(root, 'docker-compose.yml'), override], {
    ARGUS_TAG: 'ct',
    ARGUS_HTTP_PORT: String(httpPort),
    ARGUS_PROMETHEUS_PORT: String(prometheusPort),
    ARGUS_MODELS_DIR: testModelRepository(),
    API_KEYS: `ct/admin:${apiKey}`,
    ADMIN_USER: 'admin',
    ADMIN_PASSWORD: adminPassword,
    // A killed worker's jobs come back after its lock expires: seconds here, not the default 30.
    JOB_LOCK_MS: '5000',
    JOB_STALLED_INTERVAL_MS: '2000',
  }, root);
  api = `http://127.0.0.1:${httpPort}`;
  prometheus = `http://127.0.0.1:${prometheusPort}`;

  await stack.must(['build'], 900_000);
  await stack.must(['up', '-d'], 300_000);
  await stack.must(['up', '-d', 'prometheus'], 120_000);
  await waitFor('the gateway is ready', async () => ((await fetch(`${api}/health/ready`)).ok ? true : undefined), 120_000);
  await waitFor(
    'inference is ready (model loaded and warmed)',
    async () => ((await stack.exec('inference', ['node', '-e', "fetch('http://127.0.0.1:3001/health/ready').then((r) => process.exit(r.ok ? 0 : 1))"])) !== undefined ? true : undefined),
    180_000,
    1000,
  );
}, 1_200_000);

afterAll(async () => {
  if (stack) {
    const down = await stack.compose(['--profile', 'monitoring', 'down', '-v', '--remove-orphans'], 180_000);
    if (down.code !== 0) console.error(`docker compose down failed:\n${down.stderr}`);
  }
  rmSync(scratch, { recursive: true, force: true });
}, 240_000);

describe('the compose stack', () => {
  it('filled the model volume from the mounted folder, with no download', async () => {
    const log = await stack.must(['logs', '--no-color', 'model-init']);
    expect(log).toMatch(/yolox-nano: (copied|already in place) from \/seed\/yolox-nano/);
    expect(log).not.toMatch(/downloading/);
    expect(log).toMatch(/holds: .*yolox-nano/);
  });

  it('serves a detection with boxes through the gateway', async () => {
    const { status, body } = await submit('bus.jpg', {}, '?wait=30000');
    expect(status).toBe(200);
    expect(body.status).toBe('completed');
    expect(body.cached).toBe(false);
    expect(labels(body)).toContain('bus');
    expect(labels(body).filter((l) => l === 'person').length).toBeGreaterThanOrEqual(4);
  });

  it('answers the same photo again from the cache', async () => {
    const { status, body } = await submit('bus.jpg', {}, '?wait=30000');
    expect(status).toBe(200);
    expect(body.cached).toBe(true);
    expect(labels(body)).toContain('bus');
  });

  it('keeps the detection as a row in Postgres', async () => {
    const { body } = await submit('zidane.jpg', {}, '?wait=30000');
    expect(body.status).toBe('completed');
    const id = String(body.id);
    const rows = await waitFor('the row', async () => {
      const found = await stack.sql(`select status, model_name, detection_count from detections where id = '${id}'`);
      return found.length > 0 ? found : undefined;
    }, 30_000);
    expect(rows).toEqual([`completed|yolox-nano|${labels(body).length}`]);
  });

  it('opens Bull Board with the admin credentials only', async () => {
    expect((await fetch(`${api}/admin/queues`)).status).toBe(401);
    const wrong = await fetch(`${api}/admin/queues`, { headers: { authorization: `Basic ${Buffer.from('admin:nope').toString('base64')}` } });
    expect(wrong.status).toBe(401);
    const board = await fetch(`${api}/admin/queues`, { headers: { authorization: `Basic ${Buffer.from(`admin:${adminPassword}`).toString('base64')}` } });
    expect(board.status).toBe(200);
    expect(await board.text()).toMatch(/<html/i);
  });

  it('serves metrics on the operations port only, and Prometheus scrapes every app there', async () => {
    expect((await fetch(`${api}/metrics`)).status).toBe(404);
    const ops = await stack.published('api-gateway', 3004);
    const metrics = await scrape(`http://${ops}/metrics`);
    expect(metricValue(metrics, 'argus_http_requests_total', { route: '/v1/detections' })).toBeGreaterThan(0);
    expect(metricValue(metrics, 'argus_ready')).toBe(1);
    expect(metricValue(metrics, 'argus_redis_memory_max_bytes')).toBe(768 * 1024 * 1024);
    const up = await waitFor('Prometheus scrapes the three apps', async () => {
      const res = (await (await fetch(`${prometheus}/api/v1/query?query=up`)).json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
      const jobs = Object.fromEntries(res.data.result.map((r) => [r.metric.job, r.value[1]]));
      return ['api-gateway', 'inference', 'results'].every((job) => jobs[job] === '1') ? res.data.result : undefined;
    }, 90_000, 2000);
    expect(up.find((r) => r.metric.job === 'api-gateway')?.metric.instance).toMatch(/:3004$/);
  });

  it('loads the alert rules, and they pass their promtool unit tests in the Prometheus image', async () => {
    expect(await stack.exec('prometheus', ['promtool', 'check', 'config', '/etc/prometheus/prometheus.yml'])).toMatch(/SUCCESS/);
    expect(await stack.exec('prometheus', ['promtool', 'test', 'rules', '/etc/prometheus/alerts.test.yml'])).toMatch(/SUCCESS/);
    const rules = (await (await fetch(`${prometheus}/api/v1/rules`)).json()) as { data: { groups: { rules: { name: string; health: string }[] }[] } };
    const loaded = rules.data.groups.flatMap((g) => g.rules);
    expect(loaded.length).toBeGreaterThanOrEqual(10);
    expect(loaded.filter((r) => r.health !== 'ok')).toEqual([]);
  });

  it('runs Redis with AOF, noeviction and maxmemory under its memory limit', async () => {
    const config = await stack.exec('redis', ['redis-cli', 'config', 'get', '*']);
    const values = new Map<string, string>();
    const lines = config.split('\n');
    for (let i = 0; i + 1 < lines.length; i += 2) values.set(lines[i] ?? '', lines[i + 1] ?? '');
    expect([values.get('appendonly'), values.get('appendfsync'), values.get('maxmemory-policy')]).toEqual(['yes', 'everysec', 'noeviction']);
    const [redis] = await stack.containers('redis');
    const limit = Number((await stack.docker(['inspect', '--format', '{{.HostConfig.Memory}}', redis ?? ''])).trim());
    expect(Number(values.get('maxmemory')) / limit).toBeCloseTo(0.75, 2);
  });

  it('creates one admin key at a first start without keys, and the key works', async () => {
    const first = await stack.must(['run', '--rm', '-e', 'API_KEYS=', 'api-key-init'], 180_000);
    const key = /^ {4}(\S{16,})$/m.exec(first)?.[1];
    expect(key).toBeDefined();
    const models = await fetch(`${api}/v1/models`, { headers: { 'x-api-key': key ?? '' } });
    expect(models.status).toBe(200);
    const again = await stack.must(['run', '--rm', '-e', 'API_KEYS=', 'api-key-init'], 180_000);
    expect(again).toMatch(/holds 1 API key/);
    expect(again).not.toContain(key);
  });

  it('ends every accepted job exactly once in Postgres when the inference container is killed mid-load', async () => {
    const jobs = 120;
    // Let a backlog build first, so the kill lands while jobs are in the worker's hands.
    await stack.must(['stop', 'inference'], 120_000);
    const ids: string[] = [];
    for (let i = 0; i < jobs; i++) {
      const { status, body } = await submit('zidane.jpg', { priority: 'low', confidence: (0.3 + i / 1000).toFixed(3) });
      expect(status).toBe(202);
      ids.push(String(body.id));
    }
    const list = ids.map((id) => `'${id}'`).join(',');
    const persisted = async (): Promise<number> => Number((await stack.sql(`select count(*) from detections where id in (${list})`))[0]);
    await stack.must(['start', 'inference'], 120_000);
    await waitFor('some jobs done', async () => ((await persisted()) >= 5 ? true : undefined), 180_000, 250);
    const [worker] = await stack.containers('inference');
    await stack.docker(['kill', worker ?? '']);
    const atKill = await persisted();
    expect(atKill).toBeLessThan(jobs);
    // docker kill is a deliberate stop (no restart policy applies); a crash would be restarted by
    // `restart: unless-stopped`. The test brings the worker back as that would.
    await stack.docker(['start', worker ?? '']);
    await waitFor('every job in Postgres', async () => ((await persisted()) >= jobs ? true : undefined), 240_000, 1000);
    const rows = await stack.sql(`select id, status, count(*) over (partition by id) from detections where id in (${list})`);
    expect(rows).toHaveLength(jobs);
    for (const row of rows) {
      const [id, status, copies] = row.split('|');
      expect({ id, status: status === 'completed' || status === 'failed', copies }).toEqual({ id, status: true, copies: '1' });
    }
    // The API agrees with the rows: each job is finished, none is still queued or active.
    for (const id of ids) {
      const res = await fetch(`${api}/v1/detections/${id}`, { headers: { 'x-api-key': apiKey } });
      const body = (await res.json()) as { status: string };
      expect({ id, status: body.status }).toEqual({ id, status: expect.stringMatching(/^(completed|failed)$/) });
    }
  });
});

import type { AdminModelsView, ModelList } from '@argus/contracts';
import { type Stack, sharedDir, startStack, testModelRepository } from '@argus/testing';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { call, eventually, photo, upload } from './helpers';

/**
 * Serving models while they change, on the real stack: a repository in a temporary folder that
 * the test edits while one inference process serves it (MODEL_POLL_SECONDS=1), with no restart.
 */
describe('model serving: versions side by side, live changes, bad models isolated, the admin API', () => {
  let stack: Stack;
  let repo: string;
  const password = randomBytes(12).toString('base64url');
  const basic = { authorization: `Basic ${Buffer.from(`ops:${password}`).toString('base64')}` };
  const yoloxFile = join(testModelRepository(), 'yolox-nano', 'model.onnx');
  const bus = photo('bus.jpg');
  /** Every request gets its own confidence, so none is answered from the cache or shares another's work. */
  let serial = 0;
  const distinct = () => (0.2 + serial++ * 0.0001).toFixed(4);

  const admin = (path: string, init: RequestInit = {}) => fetch(`${stack.baseUrl}/admin/models${path}`, { ...init, headers: { ...basic, ...(init.headers as Record<string, string> | undefined) } });
  const models = async () => (await (await call(stack, '/v1/models')).json()) as ModelList;
  const servedVersions = async (model: string) =>
    (await models()).models.find((m) => m.name === model)?.versions.filter((v) => v.state === 'serving').map((v) => `${v.version}:${v.weight}`) ?? [];

  async function rows(ids: string[]): Promise<{ id: string; status: string; model_name: string; model_version: string; created_at: Date }[]> {
    return eventually(async () => {
      const r = await stack.query(`SELECT id, status, model_name, model_version, created_at FROM "${stack.schema}".detections WHERE id = ANY($1)`, [ids]);
      return r.rows.length === ids.length ? (r.rows as { id: string; status: string; model_name: string; model_version: string; created_at: Date }[]) : undefined;
    }, 120000, 250);
  }

  /** Sends yolox-nano requests, `lanes` at a time, until `done()`; each answer with when it was sent. */
  async function trickle(done: () => boolean, fields: Record<string, string> = {}, lanes = 2) {
    const sent: { id: string; status: number; sentAt: number }[] = [];
    await Promise.all(
      Array.from({ length: lanes }, async () => {
        while (!done()) {
          const sentAt = Date.now();
          const res = await upload(stack, bus, { model: 'yolox-nano', confidence: distinct(), ...fields }, '?wait=30000');
          sent.push({ id: String(res.body['id']), status: res.status, sentAt });
        }
      }),
    );
    return sent;
  }

  beforeAll(async () => {
    repo = await mkdtemp(join(tmpdir(), 'argus-serving-'));
    await mkdir(join(repo, 'yolox-nano', '1'), { recursive: true });
    await symlink(yoloxFile, join(repo, 'yolox-nano', '1', 'model.onnx'));
    stack = await startStack({
      label: 'serving',
      start: ['results'],
      env: { MODEL_REPOSITORY: repo, MODEL_POLL_SECONDS: '1', MODEL_THREADS: '1', ADMIN_USER: 'ops', ADMIN_PASSWORD: password },
    });
    await stack.startApp('inference');
    await stack.startApp('api-gateway');
  });
  afterAll(async () => {
    await stack?.stop();
    if (repo) await rm(repo, { recursive: true, force: true });
  });

  it('keeps the admin models API behind the admin credentials, and shows each process\'s view with them', async () => {
    const strangers: Record<string, string>[] = [{}, { authorization: `Basic ${Buffer.from('ops:wrong').toString('base64')}` }, { 'x-api-key': stack.apiKey }];
    for (const headers of strangers) {
      for (const [method, path] of [['GET', ''], ['POST', '/yolox-nano/unload']] as const) {
        const res = await fetch(`${stack.baseUrl}/admin/models${path}`, { method, headers });
        expect([method, path, res.status]).toEqual([method, path, 401]);
        expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="Argus admin"/);
      }
    }
    const res = await admin('');
    expect(res.status).toBe(200);
    const view = (await res.json()) as AdminModelsView;
    expect(view.control).toEqual({ unloaded: [], loads: {}, reloads: {} });
    expect(view.processes).toHaveLength(1);
    expect(view.processes[0]).toMatchObject({
      live: true,
      models: [
        {
          name: 'yolox-nano',
          state: 'serving',
          versions: [{ version: '1', state: 'serving', weight: 100, digest: expect.stringMatching(/^[0-9a-f]{64}$/), loadedAt: expect.any(String), inFlight: 0, provider: 'cpu' }],
        },
      ],
    });
    // Nothing is done for a model nobody knows, or an action that does not exist.
    expect((await admin('/no-such-model/unload', { method: 'POST' })).status).toBe(404);
    expect((await admin('/yolox-nano/explode', { method: 'POST' })).status).toBe(404);
  });

  it('serves a model copied into the running repository within a minute, with no restart, while requests to the model already served all complete', async () => {
    const pid = stack.process('inference')?.pid;
    let done = false;
    const trickling = trickle(() => done);
    const detrDir = join(repo, 'deimv2-atto-int8');
    await mkdir(detrDir);
    await symlink(join(sharedDir(), 'models-detr', 'deimv2-atto-int8', 'model.onnx'), join(detrDir, 'model.onnx'));
    const copiedAt = Date.now();
    await eventually(async () => ((await servedVersions('deimv2-atto-int8')).length === 1 ? true : undefined), 60000, 250);
    const servedAfterMs = Date.now() - copiedAt;
    const detr = await upload(stack, photo('zidane.jpg'), { model: 'deimv2-atto-int8' }, '?wait=30000');
    expect(detr.status).toBe(200);
    expect(detr.body).toMatchObject({ status: 'completed', model: { name: 'deimv2-atto-int8' } });
    // A little more of the trickle with both models served.
    await new Promise((r) => setTimeout(r, 1500));
    done = true;
    const sent = await trickling;
    console.log(`DETR model served ${servedAfterMs} ms after it was copied; ${sent.length} yolox-nano requests across the change`);
    expect(sent.length).toBeGreaterThanOrEqual(4);
    expect(sent.filter((s) => s.status !== 200 && s.status !== 202)).toEqual([]);
    const persisted = await rows(sent.map((s) => s.id));
    expect(persisted.filter((r) => r.status !== 'completed')).toEqual([]);
    expect(stack.process('inference')?.pid).toBe(pid);
    expect(stack.process('inference')?.exitCode).toBeNull();
  });

  it('gives a new version its canary share by the weights, and runs model=yolox-nano@2 on version 2 only', async () => {
    await mkdir(join(repo, 'yolox-nano', '2'));
    // Same bytes as version 1: the version's name is what differs.
    await symlink(yoloxFile, join(repo, 'yolox-nano', '2', 'model.onnx'));
    await writeFile(join(repo, 'yolox-nano', 'model.json'), JSON.stringify({ versionPolicy: 'all', weights: { '1': 50, '2': 50 } }));
    await eventually(async () => ((await servedVersions('yolox-nano')).join(',') === '1:50,2:50' ? true : undefined), 60000, 250);
    await new Promise((r) => setTimeout(r, 1100)); // every gateway cache has it now

    const n = 60;
    const split = await Promise.all(Array.from({ length: n }, () => upload(stack, bus, { model: 'yolox-nano', confidence: distinct() }, '?wait=60000')));
    const byVersion: Record<string, number> = {};
    for (const r of await rows(split.map((s) => String(s.body['id'])))) {
      expect(r.status).toBe('completed');
      byVersion[r.model_version] = (byVersion[r.model_version] ?? 0) + 1;
    }
    console.log(`canary split over ${n} requests at 50/50: ${JSON.stringify(byVersion)}`);
    // Binomial(60, 0.5): fewer than 10 on one side has a chance below 1e-7.
    expect(Object.keys(byVersion).sort()).toEqual(['1', '2']);
    expect(byVersion['1']).toBeGreaterThanOrEqual(10);
    expect(byVersion['2']).toBeGreaterThanOrEqual(10);

    const pinned = await Promise.all(Array.from({ length: 8 }, () => upload(stack, bus, { model: 'yolox-nano@2', confidence: distinct() }, '?wait=60000')));
    expect(pinned.map((p) => p.body['model'])).toEqual(Array(8).fill({ name: 'yolox-nano', version: '2' }));
    expect((await rows(pinned.map((p) => String(p.body['id'])))).map((r) => r.model_version)).toEqual(Array(8).fill('2'));
    const unknown = await upload(stack, bus, { model: 'yolox-nano@9' });
    expect([unknown.status, (unknown.body['error'] as { code: string }).code]).toEqual([422, 'unknown_model']);
  });

  it('drains a version unloaded through the admin API while requests run: none fails, the ones sent to it finish, then none goes to it', async () => {
    let done = false;
    const trickling = trickle(() => done, {}, 3);
    await new Promise((r) => setTimeout(r, 1500));
    const unload = await admin('/yolox-nano@2/unload', { method: 'POST' });
    expect(unload.status).toBe(202);
    expect(await unload.json()).toMatchObject({ action: 'unload', model: 'yolox-nano', version: '2', control: { unloaded: ['yolox-nano@2'] } });
    // When the process withdrew it (published it as draining), and when it released it.
    const withdrawnAt = await eventually(async () => {
      const view = (await (await admin('')).json()) as AdminModelsView;
      const v2 = view.processes[0]?.models.find((m) => m.name === 'yolox-nano')?.versions.find((v) => v.version === '2');
      return v2 && v2.state !== 'serving' ? Date.now() : undefined;
    }, 30000, 50);
    await eventually(async () => {
      const view = (await (await admin('')).json()) as AdminModelsView;
      const v2 = view.processes[0]?.models.find((m) => m.name === 'yolox-nano')?.versions.find((v) => v.version === '2');
      return v2?.state === 'unloaded' ? true : undefined;
    }, 30000, 100);
    // Requests go on for a while after it is released.
    await new Promise((r) => setTimeout(r, 3000));
    done = true;
    const sent = await trickling;
    expect(sent.filter((s) => s.status !== 200 && s.status !== 202)).toEqual([]);
    const persisted = await rows(sent.map((s) => s.id));
    expect(persisted.filter((r) => r.status !== 'completed')).toEqual([]);
    const sentAt = new Map(sent.map((s) => [s.id, s.sentAt]));
    const before = persisted.filter((r) => (sentAt.get(r.id) ?? 0) < withdrawnAt);
    // The gateways' catalog is at most a second old: what was sent a little later never goes to version 2.
    const after = persisted.filter((r) => (sentAt.get(r.id) ?? 0) > withdrawnAt + 1500);
    console.log(
      `unload under load: ${sent.length} requests, before the withdrawal ${JSON.stringify(count(before))}, more than 1.5 s after it ${JSON.stringify(count(after))}`,
    );
    expect(before.some((r) => r.model_version === '2')).toBe(true);
    expect(after.length).toBeGreaterThanOrEqual(3);
    expect(after.filter((r) => r.model_version !== '1')).toEqual([]);
    // Sticky: the repository still has it, yet it stays unloaded; a pinned request says so.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await servedVersions('yolox-nano')).toEqual(['1:50']);
    const pinned = await upload(stack, bus, { model: 'yolox-nano@2' });
    expect([pinned.status, pinned.body['error']]).toEqual([503, { code: 'model_unavailable', message: expect.stringContaining('unloaded') }]);
    // A load serves it again.
    expect((await admin('/yolox-nano@2/load', { method: 'POST' })).status).toBe(202);
    await eventually(async () => ((await servedVersions('yolox-nano')).join(',') === '1:50,2:50' ? true : undefined), 60000, 250);
  });

  it('reports a broken model file (admin API, readiness detail, /v1/models) and keeps serving the others', async () => {
    await mkdir(join(repo, 'broken'));
    await writeFile(join(repo, 'broken', 'model.onnx'), randomBytes(4096));
    const listed = await eventually(async () => (await models()).unavailable.find((m) => m.name === 'broken'), 60000, 250);
    expect(listed).toMatchObject({ state: 'unavailable', reason: expect.any(String), versions: [expect.objectContaining({ state: 'failed', reason: expect.any(String) })] });
    const view = (await (await admin('')).json()) as AdminModelsView;
    expect(view.processes[0]?.models.find((m) => m.name === 'broken')).toMatchObject({ state: 'unavailable', versions: [expect.objectContaining({ state: 'failed' })] });
    const ready = await fetch(`http://127.0.0.1:${stack.ports.inference}/health/ready`);
    expect(ready.status).toBe(200);
    const health = (await ready.json()) as { checks: { models: { detail: { model: string; state: string; reason: string | null }[] } } };
    expect(health.checks.models.detail).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ model: 'broken', state: 'unavailable', reason: expect.any(String) }),
        expect.objectContaining({ model: 'yolox-nano', state: 'serving' }),
        expect.objectContaining({ model: 'deimv2-atto-int8', state: 'serving' }),
      ]),
    );
    const refused = await upload(stack, bus, { model: 'broken' });
    expect([refused.status, (refused.body['error'] as { code: string }).code]).toEqual([503, 'model_unavailable']);
    const served = await upload(stack, bus, { model: 'yolox-nano', confidence: distinct() }, '?wait=30000');
    expect([served.status, served.body['status']]).toEqual([200, 'completed']);
  });

  it('drops a model removed from the repository once drained: it leaves the catalog and is unknown', async () => {
    await rm(join(repo, 'deimv2-atto-int8'), { recursive: true });
    await eventually(async () => ((await models()).models.some((m) => m.name === 'deimv2-atto-int8') ? undefined : true), 60000, 250);
    const gone = await upload(stack, bus, { model: 'deimv2-atto-int8' });
    expect([gone.status, (gone.body['error'] as { code: string }).code]).toEqual([422, 'unknown_model']);
  });

  it('keeps the jobs of a model an operator unloaded waiting (UNAVAILABLE_MODEL_JOBS=wait), refuses new ones with the reason under fail, and runs them once it is loaded', async () => {
    expect((await admin('/yolox-nano/unload', { method: 'POST' })).status).toBe(202);
    await eventually(async () => {
      const view = (await (await admin('')).json()) as AdminModelsView;
      const model = view.processes[0]?.models.find((m) => m.name === 'yolox-nano');
      return model?.state === 'unloaded' && model.versions.every((v) => v.state === 'unloaded') ? true : undefined;
    }, 30000, 100);
    await new Promise((r) => setTimeout(r, 1100)); // the gateway's catalog has it
    const waiting = await upload(stack, bus, { model: 'yolox-nano', confidence: distinct() }, '?wait=1000');
    expect([waiting.status, waiting.body['status'], waiting.body['note']]).toEqual([202, 'queued', expect.stringContaining('yolox-nano')]);

    await stack.stopApp('api-gateway');
    await stack.startApp('api-gateway', { UNAVAILABLE_MODEL_JOBS: 'fail' });
    const refused = await upload(stack, bus, { model: 'yolox-nano', confidence: distinct() });
    expect([refused.status, refused.body['error']]).toEqual([503, { code: 'model_unavailable', message: expect.stringContaining('unloaded by an operator') }]);

    expect((await admin('/yolox-nano/load', { method: 'POST' })).status).toBe(202);
    const [row] = await rows([String(waiting.body['id'])]);
    expect(row).toMatchObject({ status: 'completed', model_name: 'yolox-nano' });
  });
});

function count(rows: { model_version: string }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rows) out[r.model_version] = (out[r.model_version] ?? 0) + 1;
  return out;
}

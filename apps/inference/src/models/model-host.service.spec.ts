import type { ModelRegistry } from '@argus/broker';
import { buildConfig } from '@argus/config';
import type { HostedModelStatus, ModelControl, ModelInfo } from '@argus/contracts';
import { Metrics } from '@argus/observability';
import { metricValue } from '@argus/testing';
import type { ModelConfig, ModelEntry, RepositoryModel, SessionOptions } from '@argus/vision';
import { JobFailure } from '../detect/failure';
import { ModelHost, type ModelWorkers } from './model-host.service';
import { type ModelSession, ModelSource } from './model-source';

/** A session that loads nothing: what the host does with it is the test. */
class FakeSession {
  released = false;
  private listeners: ((error: Error) => void)[] = [];
  readonly fallbackReasons: string[] = [];
  readonly notes: string[] = [];
  readonly maxBatchSize = 4;
  readonly modelThreads = 1;
  readonly loadMs = 1;
  readonly warmupMs = 1;
  readonly spec = { family: 'yolox' };

  constructor(
    readonly entry: ModelEntry,
    readonly provider: string,
  ) {}

  info(): Omit<ModelInfo, 'updatedAt' | 'weight'> {
    const { name, version, digest } = this.entry;
    return { name, version, digest, family: 'yolox', input: { width: 416, height: 416 }, dynamicBatch: true, maxBatchSize: 4, labels: ['person'], provider: this.provider, requestedProviders: ['cpu'], loadMs: 1, warmupMs: 1 };
  }
  runSlots(): Promise<Float32Array[]> {
    return Promise.resolve([]);
  }
  slot(): never {
    throw new Error('no slots in the fake');
  }
  release(): Promise<void> {
    this.released = true;
    return Promise.resolve();
  }
  onFailure(listener: (error: Error) => void): void {
    this.listeners.push(listener);
  }
  die(message: string): void {
    for (const l of this.listeners) l(new Error(message));
  }
}

/** A repository in memory: `{ model: { version: digest } }`; a digest starting with "!" fails to load with the rest as its reason. */
class FakeSource extends ModelSource {
  models: Record<string, { versions: Record<string, string>; config?: ModelConfig }> = {};
  opened: { entry: ModelEntry; options: SessionOptions; session: FakeSession }[] = [];
  provider = 'cpu';
  unreadable = false;

  scan(): Promise<RepositoryModel[]> {
    if (this.unreadable) return Promise.reject(new Error('repository gone'));
    return Promise.resolve(
      Object.entries(this.models).map(([name, m]) => ({
        name,
        dir: `/m/${name}`,
        layout: 'versioned' as const,
        config: m.config ?? { versionPolicy: 'all' },
        versions: Object.entries(m.versions).map(([version, digest]) => ({ name, version, dir: `/m/${name}`, path: `/m/${name}/${version}/model.onnx`, digest, sizeBytes: 1, overrides: {} })),
      })),
    );
  }

  open(entry: ModelEntry, options: SessionOptions): Promise<ModelSession> {
    if (entry.digest.startsWith('!')) return Promise.reject(new Error(entry.digest.slice(1)));
    const session = new FakeSession(entry, this.provider);
    this.opened.push({ entry, options, session });
    return Promise.resolve(session as unknown as ModelSession);
  }

  session(version: string, nth = -1): FakeSession {
    const found = this.opened.filter((o) => o.entry.version === version).at(nth)?.session;
    if (!found) throw new Error(`no session of version ${version}`);
    return found;
  }
}

/** The registry's calls, in memory. */
class FakeRegistry {
  published: { models: HostedModelStatus[]; descriptions: ModelInfo[] }[] = [];
  withdrawn: string[] = [];
  wishes: ModelControl = { unloaded: [], loads: {}, reloads: {} };
  nudge: (() => void) | undefined;

  control(): Promise<ModelControl> {
    return Promise.resolve(structuredClone(this.wishes));
  }

  publish(_id: string, models: HostedModelStatus[], descriptions: ModelInfo[]): Promise<void> {
    this.published.push({ models: structuredClone(models), descriptions: structuredClone(descriptions) });
    return Promise.resolve();
  }
  withdraw(_id: string, versions: { name: string; version: string }[]): Promise<string[]> {
    const gone = versions.map((v) => `${v.name}@${v.version}`);
    this.withdrawn.push(...gone);
    return Promise.resolve(gone);
  }
  withdrawWorker(): Promise<void> {
    return Promise.resolve();
  }
  subscribe(onNudge: () => void): Promise<void> {
    this.nudge = onNudge;
    return Promise.resolve();
  }
  get last() {
    return this.published.at(-1) ?? { models: [], descriptions: [] };
  }
  /** The versions and states of a model in the last heartbeat. */
  states(model: string): string[] {
    return (this.last.models.find((m) => m.name === model)?.versions ?? []).map((v) => `${v.version}:${v.state}`);
  }
}

class FakeWorkers implements ModelWorkers {
  calls: string[] = [];
  start(model: string): void {
    this.calls.push(`start ${model}`);
  }
  stop(model: string): Promise<void> {
    this.calls.push(`stop ${model}`);
    return Promise.resolve();
  }
}

async function setup(env: Record<string, string> = {}, drainGraceMs = 0) {
  const config = buildConfig({ NODE_ENV: 'test', MODEL_POLL_SECONDS: '0', WORKER_CONCURRENCY: '3', CUDA_DEVICE_ID: '1', ...env });
  const source = new FakeSource();
  const registry = new FakeRegistry();
  const workers = new FakeWorkers();
  const metrics = new Metrics('test');
  const host = new ModelHost(config, source, registry as unknown as ModelRegistry, metrics, { drainGraceMs, heartbeatMs: 60_000 });
  const start = () => host.start(workers);
  return { host, source, registry, workers, metrics, start };
}

type Setup = Awaited<ReturnType<typeof setup>>;
const scrape = async (metrics: Metrics) => metrics.registry.metrics();

describe(ModelHost.name, () => {
  let current: Setup | undefined;
  afterEach(async () => {
    await current?.host.onApplicationShutdown();
    current = undefined;
  });
  const make = async (env: Record<string, string> = {}, drainGraceMs = 0) => (current = await setup(env, drainGraceMs));

  it('loads every version the policy selects with its weight, publishes each only once warm, then starts the model\'s worker', async () => {
    const { host, source, registry, workers, start } = await make();
    source.models = { 'yolox-nano': { versions: { '1': 'd1', '2': 'd2' }, config: { versionPolicy: 'all', weights: { '1': 90, '2': 10 } } } };
    expect(host.readiness()).toEqual({ ok: false, detail: 'models loading' });
    await start();
    // Each version was published as loading, with no description, before it served.
    const firstLoading = registry.published.findIndex((p) => p.models[0]?.versions.some((v) => v.version === '1' && v.state === 'loading'));
    expect(registry.published[firstLoading]?.descriptions).toEqual([]);
    expect(registry.last.descriptions.map((d) => [d.version, d.weight, d.digest])).toEqual([
      ['1', 90, 'd1'],
      ['2', 10, 'd2'],
    ]);
    expect(registry.states('yolox-nano')).toEqual(['1:serving', '2:serving']);
    expect(registry.last.models[0]).toMatchObject({ name: 'yolox-nano', state: 'serving', version: '1', provider: 'cpu', reason: null });
    expect(workers.calls).toEqual(['start yolox-nano', 'start yolox-nano']);
    expect(host.readiness().ok).toBe(true);
    // The configuration reaches every session: the CUDA device, and a shared slot per job in hand.
    expect(source.opened.map((o) => o.options)).toEqual([
      expect.objectContaining({ cudaDeviceId: 1, sharedSlots: 3, executionProviders: ['cpu'] }),
      expect.objectContaining({ cudaDeviceId: 1, sharedSlots: 3 }),
    ]);
  });

  it('marks a model that cannot be loaded unavailable with its reason, counts the failure, and serves the others', async () => {
    const { host, source, registry, metrics, workers, start } = await make();
    source.models = { broken: { versions: { '1': '!not an ONNX model: protobuf parsing failed' } }, 'yolox-nano': { versions: { '1': 'd1' } } };
    await start();
    expect(registry.last.models.find((m) => m.name === 'broken')).toMatchObject({
      state: 'unavailable',
      reason: '1: not an ONNX model: protobuf parsing failed',
      versions: [expect.objectContaining({ version: '1', state: 'failed', reason: 'not an ONNX model: protobuf parsing failed' })],
    });
    expect(registry.last.descriptions.map((d) => d.name)).toEqual(['yolox-nano']);
    expect(workers.calls).toEqual(['start yolox-nano']);
    const readiness = host.readiness();
    expect(readiness.ok).toBe(true);
    expect(readiness.detail).toEqual(
      expect.arrayContaining([expect.objectContaining({ model: 'broken', state: 'unavailable' }), expect.objectContaining({ model: 'yolox-nano', state: 'serving' })]),
    );
    const text = await scrape(metrics);
    expect(metricValue(text, 'argus_model_load_failures_total', { model: 'broken', version: '1' })).toBe(1);
    expect(metricValue(text, 'argus_model_version_state', { model: 'broken', version: '1', state: 'failed' })).toBe(1);
    expect(metricValue(text, 'argus_model_info', { model: 'yolox-nano', version: '1', provider: 'cpu' })).toBe(1);
    // It is not tried again on every poll, only when its file changes.
    await host.sync();
    expect(metricValue(await scrape(metrics), 'argus_model_load_failures_total', { model: 'broken', version: '1' })).toBe(1);
    source.models['broken'] = { versions: { '1': 'fixed' } };
    await host.sync();
    expect(registry.states('broken')).toEqual(['1:serving']);
  });

  it('is not ready while no model serves, and says why', async () => {
    const { host, source, start } = await make({ MODELS: 'only-this' });
    source.models = { other: { versions: { '1': 'd1' } } };
    await start();
    expect(host.readiness()).toEqual({ ok: false, detail: [{ model: 'only-this', state: 'unavailable', reason: 'not in the model repository', versions: [] }] });
    expect(source.opened).toEqual([]); // MODELS leaves the other model out
  });

  it('runs a job on the version it names; an unpinned job for a version not served runs on the primary, a pinned one fails', async () => {
    const { host, source, start } = await make();
    source.models = { m: { versions: { '1': 'd1', '2': 'd2' }, config: { versionPolicy: 'all', weights: { '1': 90, '2': 10 } } } };
    await start();
    const pinned = host.acquire('m', '2', true);
    expect([pinned.model.info.version, pinned.fallback]).toEqual(['2', false]);
    pinned.release();
    const fallback = host.acquire('m', '7', false);
    expect([fallback.model.info.version, fallback.fallback]).toEqual(['1', true]);
    fallback.release();
    const refused = (() => {
      try {
        host.acquire('m', '7', true);
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(refused).toBeInstanceOf(JobFailure);
    expect(refused).toMatchObject({ code: 'model_unavailable', message: expect.stringContaining('Version 7 of model "m" is not served') });
    expect(() => host.acquire('nothing', '1', false)).toThrow(/serves no version of model "nothing"/);
  });

  it('loads a version added to the repository and moves traffic when the weights change, with no restart', async () => {
    const { host, source, registry, start } = await make();
    source.models = { m: { versions: { '1': 'd1' } } };
    await start();
    source.models['m'] = { versions: { '1': 'd1', '2': 'd2' }, config: { versionPolicy: 'all', weights: { '1': 90, '2': 10 } } };
    await host.sync();
    expect(registry.last.descriptions.map((d) => [d.version, d.weight])).toEqual([
      ['1', 90],
      ['2', 10],
    ]);
    source.models['m'] = { versions: { '1': 'd1', '2': 'd2' }, config: { versionPolicy: 'all', weights: { '1': 0, '2': 100 } } };
    await host.sync();
    expect(registry.last.descriptions.map((d) => [d.version, d.weight])).toEqual([
      ['1', 0],
      ['2', 100],
    ]);
    expect(source.opened.length).toBe(2);
  });

  it('drains a removed version: withdrawn from what is published at once, released only after its grace and its last job, then out of the catalog', async () => {
    const { host, source, registry, workers, start } = await make({}, 300);
    source.models = { m: { versions: { '1': 'd1', '2': 'd2' } } };
    await start();
    const inFlight = host.acquire('m', '1', false);
    delete source.models['m']?.versions['1'];
    await host.sync();
    expect(registry.states('m')).toEqual(['1:draining', '2:serving']);
    expect(registry.last.descriptions.map((d) => d.version)).toEqual(['2']);
    // A job sent before it was withdrawn still runs on it, during the grace.
    const late = host.acquire('m', '1', false);
    expect(late.fallback).toBe(false);
    late.release();
    await new Promise((r) => setTimeout(r, 350));
    await host.sync();
    expect(source.session('1').released).toBe(false); // its first job is still running
    // Past the grace, a backlog of jobs for it runs on the primary and does not hold its release back.
    const backlog = host.acquire('m', '1', false);
    expect([backlog.model.info.version, backlog.fallback]).toEqual(['2', true]);
    backlog.release();
    inFlight.release();
    await host.sync();
    expect(source.session('1').released).toBe(true);
    expect(registry.states('m')).toEqual(['2:serving']);
    expect(registry.withdrawn).toEqual(['m@1']);
    // Once released, its jobs run on the primary version.
    expect(host.acquire('m', '1', false).model.info.version).toBe('2');
    expect(workers.calls).not.toContain('stop m');
  });

  it('reloads a version whose file changed: the old session serves until the new one is warm, and finishes its jobs', async () => {
    const { host, source, registry, start } = await make();
    source.models = { m: { versions: { '1': 'd1' } } };
    await start();
    const inFlight = host.acquire('m', '1', false);
    source.models['m'] = { versions: { '1': 'd1-new' } };
    await host.sync();
    expect(host.acquire('m', '1', true).model.info.digest).toBe('d1-new');
    expect(registry.last.descriptions.map((d) => d.digest)).toEqual(['d1-new']);
    expect(source.session('1', 0).released).toBe(false);
    inFlight.release();
    await host.sync();
    expect(source.session('1', 0).released).toBe(true);
  });

  it('keeps serving when a changed file fails to load, says so, and does not try it again until it changes', async () => {
    const { host, source, registry, metrics, start } = await make();
    source.models = { m: { versions: { '1': 'd1' } } };
    await start();
    source.models['m'] = { versions: { '1': '!truncated file' } };
    await host.sync();
    expect(registry.last.models[0]?.versions[0]).toMatchObject({ version: '1', state: 'serving', digest: 'd1', reason: expect.stringContaining('truncated file') });
    expect(host.acquire('m', '1', true).model.info.digest).toBe('d1');
    await host.sync();
    expect(metricValue(await scrape(metrics), 'argus_model_load_failures_total', { model: 'm', version: '1' })).toBe(1);
  });

  it('applies an operator\'s unload (sticky, the worker stopped before the model\'s last version goes), load and reload', async () => {
    const { host, source, registry, workers, start } = await make();
    source.models = { m: { versions: { '1': 'd1', '2': 'd2' } } };
    await start();
    registry.wishes = { unloaded: ['m@2'], loads: {}, reloads: {} };
    await host.sync();
    await host.sync();
    expect(registry.states('m')).toEqual(['1:serving', '2:unloaded']);
    expect(source.session('2').released).toBe(true);
    await host.sync();
    expect(source.opened.length).toBe(2); // still unloaded
    registry.wishes = { unloaded: ['m'], loads: {}, reloads: {} };
    await host.sync();
    await host.sync();
    expect(workers.calls.at(-1)).toBe('stop m');
    expect(registry.last.models[0]).toMatchObject({ state: 'unloaded', reason: 'unloaded by an operator' });
    registry.wishes = { unloaded: [], loads: { m: 1 }, reloads: {} };
    await host.sync();
    expect(registry.states('m')).toEqual(['1:serving', '2:serving']);
    expect(workers.calls.at(-1)).toBe('start m');
    registry.wishes = { unloaded: [], loads: { m: 1 }, reloads: { 'm@1': 1 } };
    const before = source.opened.length;
    await host.sync();
    expect(source.opened.slice(before).map((o) => o.entry.version)).toEqual(['1']);
  });

  it('stops a removed model\'s worker, drains and releases its versions, and drops it', async () => {
    const { host, source, registry, workers, start } = await make();
    source.models = { a: { versions: { '1': 'a1' } }, b: { versions: { '1': 'b1' } } };
    await start();
    delete source.models['b'];
    await host.sync();
    expect(workers.calls).toContain('stop b');
    await host.sync();
    expect(registry.last.models.map((m) => m.name)).toEqual(['a']);
    expect(registry.withdrawn).toEqual(['b@1']);
    expect(source.session('1', -1).released).toBe(true);
  });

  it('keeps what it serves while the repository cannot be read', async () => {
    const { host, source, registry, start } = await make();
    source.models = { m: { versions: { '1': 'd1' } } };
    await start();
    source.unreadable = true;
    await host.sync();
    expect(registry.states('m')).toEqual(['1:serving']);
    expect(host.readiness().ok).toBe(true);
  });

  it('refuses a version that runs on CPU when CUDA was asked for, unless ALLOW_CPU_FALLBACK', async () => {
    const refusing = await make({ EXECUTION_PROVIDERS: 'cuda,cpu' });
    refusing.source.models = { m: { versions: { '1': 'd1' } } };
    await refusing.start();
    expect(refusing.host.readiness()).toEqual({ ok: false, detail: [expect.objectContaining({ model: 'm', version: '1', asked: 'cuda', running: 'cpu', fix: expect.stringMatching(/ALLOW_CPU_FALLBACK/) })] });
    expect(refusing.workers.calls).toEqual([]);
    expect(refusing.source.session('1').released).toBe(true);
    await refusing.host.onApplicationShutdown();

    const allowing = await make({ EXECUTION_PROVIDERS: 'cuda,cpu', ALLOW_CPU_FALLBACK: 'true' });
    allowing.source.models = { m: { versions: { '1': 'd1' } } };
    await allowing.start();
    expect(allowing.host.readiness().ok).toBe(true);
    expect(metricValue(await scrape(allowing.metrics), 'argus_model_info', { model: 'm', version: '1', provider: 'cpu', requested: 'cuda,cpu' })).toBe(1);
  });

  it('fails a version whose model thread died and loads it again at the next pass', async () => {
    const { host, source, registry, workers, start } = await make();
    source.models = { m: { versions: { '1': 'd1' } } };
    await start();
    source.session('1').die('worker exited with code 1');
    expect(registry.states('m')).toEqual(['1:failed']);
    expect(workers.calls).toContain('stop m');
    await host.sync();
    expect(registry.states('m')).toEqual(['1:serving']);
    expect(source.opened.length).toBe(2);
  });

  it('applies an operator\'s change at once when nudged', async () => {
    const { source, registry, start } = await make();
    source.models = { m: { versions: { '1': 'd1' } } };
    await start();
    source.models['m'] = { versions: { '1': 'd1', '2': 'd2' } };
    registry.nudge?.();
    await current?.host.sync();
    expect(registry.states('m')).toEqual(['1:serving', '2:serving']);
  });
});

import type { ModelControl } from '@argus/contracts';
import type { ModelConfig, RepositoryModel, VersionEntry } from '@argus/vision';
import { type HeldModel, type HeldVersion, type PlanInput, planVersions } from './version-plan';

/** A repository model with versions `name: digest` (a digest starting with "!" is an unreadable file). */
function repo(name: string, versions: Record<string, string>, config: ModelConfig = { versionPolicy: 'all' }): RepositoryModel {
  const entries: VersionEntry[] = Object.entries(versions).map(([version, digest]) =>
    digest.startsWith('!')
      ? { name, version, dir: `/m/${name}`, path: `/m/${name}/${version}/model.onnx`, error: { code: 'invalid_model', message: digest.slice(1) } }
      : { name, version, dir: `/m/${name}`, path: `/m/${name}/${version}/model.onnx`, digest, sizeBytes: 1, overrides: {} },
  );
  return { name, dir: `/m/${name}`, layout: 'versioned', config, versions: entries };
}

const held = (name: string, ...versions: (Partial<HeldVersion> & { version: string })[]): HeldModel => ({
  name,
  versions: versions.map((v) => ({ state: 'serving', digest: `d${v.version}`, weight: 100, inFlight: 0, drainingSince: null, ...v })),
});

const NO_CONTROL: ModelControl = { unloaded: [], loads: {}, reloads: {} };

function plan(overrides: Partial<PlanInput>) {
  return planVersions({ held: [], scan: [], control: NO_CONTROL, applied: { loads: {}, reloads: {} }, only: [], now: 10_000, drainGraceMs: 3000, ...overrides });
}

const loads = (p: ReturnType<typeof plan>) => p.load.map((l) => [`${l.name}@${l.version}`, l.reason, l.weight, l.replaces]);
const drains = (p: ReturnType<typeof plan>) => p.drain.map((d) => [`${d.name}@${d.version}`, d.reason, d.unlessLast]);

describe(planVersions.name, () => {
  it('loads every version a new model serves, with its weights', () => {
    const p = plan({ scan: [repo('yolox-nano', { '1': 'd1', '2': 'd2' }, { versionPolicy: 'all', weights: { '1': 90, '2': 10 } })] });
    expect(loads(p)).toEqual([
      ['yolox-nano@1', 'new', 90, false],
      ['yolox-nano@2', 'new', 10, false],
    ]);
    expect([p.drain, p.release, p.fail]).toEqual([[], [], []]);
    expect(p.models).toEqual([{ name: 'yolox-nano', error: null, unloaded: false, notes: [] }]);
  });

  it('loads a new version beside the serving one and leaves the serving one alone', () => {
    const p = plan({ held: [held('m', { version: '1' })], scan: [repo('m', { '1': 'd1', '2': 'd2' }, { versionPolicy: 'all', weights: { '1': 100 } })] });
    expect(loads(p)).toEqual([['m@2', 'new', 0, false]]);
    expect(p.drain).toEqual([]);
    expect(p.weights).toEqual([]);
  });

  it('reloads a serving version whose file or settings changed, keeping it until the new session is warm', () => {
    const p = plan({ held: [held('m', { version: '1' })], scan: [repo('m', { '1': 'd1-new' })] });
    expect(loads(p)).toEqual([['m@1', 'changed', 100, true]]);
    // A replacement that failed to load is not tried again on every poll, only when it changes again or an operator asks.
    const kept = held('m', { version: '1', failedDigest: 'd1-new' });
    expect(plan({ held: [kept], scan: [repo('m', { '1': 'd1-new' })] }).load).toEqual([]);
    expect(loads(plan({ held: [kept], scan: [repo('m', { '1': 'd1-newer' })] }))).toEqual([['m@1', 'changed', 100, true]]);
    expect(loads(plan({ held: [kept], scan: [repo('m', { '1': 'd1-new' })], control: { ...NO_CONTROL, reloads: { m: 1 } } }))).toEqual([['m@1', 'changed', 100, true]]);
  });

  it('drains a version that left the repository or the policy, only if another version serves', () => {
    const removed = plan({ held: [held('m', { version: '1' }, { version: '2' })], scan: [repo('m', { '2': 'd2' })] });
    expect(drains(removed)).toEqual([['m@1', 'removed', true]]);
    const deselected = plan({ held: [held('m', { version: '1' })], scan: [repo('m', { '1': 'd1', '2': 'd2' }, { versionPolicy: { latest: 1 } })] });
    expect(loads(deselected)).toEqual([['m@2', 'new', 100, false]]);
    expect(drains(deselected)).toEqual([['m@1', 'deselected', true]]);
  });

  it('drains every version of a model gone from the repository, whatever else serves', () => {
    const p = plan({ held: [held('gone', { version: '1' }, { version: '2', state: 'failed' })], scan: [repo('other', { '1': 'o1' })] });
    expect(drains(p)).toEqual([['gone@1', 'model-removed', false]]);
    expect(p.forget).toEqual([{ name: 'gone', version: '2' }]);
    expect(p.models.map((m) => m.name)).toEqual(['other']);
  });

  it('reports a model MODELS names that the repository does not have, and loads no model MODELS leaves out', () => {
    const p = plan({ only: ['yolox-nano', 'missing'], scan: [repo('yolox-nano', { '1': 'd1' }), repo('yolov8n-int8', { '1': 'e1' })] });
    expect(loads(p).map(([key]) => key)).toEqual(['yolox-nano@1']);
    expect(p.models).toEqual([
      { name: 'missing', error: 'not in the model repository', unloaded: false, notes: [] },
      { name: 'yolox-nano', error: null, unloaded: false, notes: [] },
    ]);
  });

  it('fails a selected version whose file cannot be read, but keeps serving one that already serves', () => {
    const fresh = plan({ scan: [repo('m', { '1': '!cannot be read: EACCES' })] });
    expect(fresh.fail).toEqual([{ name: 'm', version: '1', digest: null, weight: 100, reason: 'cannot be read: EACCES' }]);
    const serving = plan({ held: [held('m', { version: '1' })], scan: [repo('m', { '1': '!cannot be read: ENOENT' })] });
    expect([serving.fail, serving.drain, serving.load]).toEqual([[], [], []]);
  });

  it('retries a failed version when its digest changes or an operator asks, and not on every poll', () => {
    const failed = held('m', { version: '1', state: 'failed', digest: 'bad' });
    expect(plan({ held: [failed], scan: [repo('m', { '1': 'bad' })] }).load).toEqual([]);
    expect(loads(plan({ held: [failed], scan: [repo('m', { '1': 'fixed' })] }))).toEqual([['m@1', 'changed', 100, false]]);
    const control = { ...NO_CONTROL, loads: { m: 2 } };
    expect(loads(plan({ held: [failed], scan: [repo('m', { '1': 'bad' })], control, applied: { loads: { m: 1 }, reloads: {} } }))).toEqual([['m@1', 'retry', 100, false]]);
    expect(plan({ held: [failed], scan: [repo('m', { '1': 'bad' })], control, applied: { loads: { m: 2 }, reloads: {} } }).load).toEqual([]);
  });

  it('reloads a serving version from disk when an operator asks, for the model or that version', () => {
    const scan = [repo('m', { '1': 'd1', '2': 'd2' })];
    const serving = held('m', { version: '1' }, { version: '2' });
    const byVersion = plan({ held: [serving], scan, control: { ...NO_CONTROL, reloads: { 'm@2': 1 } } });
    expect(loads(byVersion)).toEqual([['m@2', 'reload', 100, true]]);
    const byModel = plan({ held: [serving], scan, control: { ...NO_CONTROL, reloads: { m: 3 } }, applied: { loads: {}, reloads: { m: 2 } } });
    expect(loads(byModel).map(([key]) => key)).toEqual(['m@1', 'm@2']);
  });

  it('drains a version an operator unloads, and shows it unloaded without loading it until a load', () => {
    const scan = [repo('m', { '1': 'd1', '2': 'd2' })];
    const control = { ...NO_CONTROL, unloaded: ['m@2'] };
    expect(drains(plan({ held: [held('m', { version: '1' }, { version: '2' })], scan, control }))).toEqual([['m@2', 'unloaded', false]]);
    const fresh = plan({ scan, control });
    expect(loads(fresh).map(([key]) => key)).toEqual(['m@1']);
    expect(fresh.unload).toEqual([{ name: 'm', version: '2', digest: 'd2', weight: 100 }]);
    // Unloaded stays unloaded across polls; lifting it loads the version again.
    const unloaded = held('m', { version: '1' }, { version: '2', state: 'unloaded' });
    expect([plan({ held: [unloaded], scan, control }).load, plan({ held: [unloaded], scan, control }).unload]).toEqual([[], []]);
    expect(loads(plan({ held: [unloaded], scan }))).toEqual([['m@2', 'loaded', 100, false]]);
  });

  it('drains every version of a model an operator unloads', () => {
    const p = plan({ held: [held('m', { version: '1' }, { version: '2' })], scan: [repo('m', { '1': 'd1', '2': 'd2' })], control: { ...NO_CONTROL, unloaded: ['m'] } });
    expect(drains(p)).toEqual([
      ['m@1', 'model-unloaded', false],
      ['m@2', 'model-unloaded', false],
    ]);
    expect(p.models[0]).toMatchObject({ name: 'm', unloaded: true });
  });

  it('releases a draining version once its grace has passed and its last job has finished', () => {
    const draining = (since: number, inFlight: number) => [held('m', { version: '1' }, { version: '2', state: 'draining', drainingSince: since, inFlight })];
    const scan = [repo('m', { '1': 'd1' })];
    expect(plan({ held: draining(5000, 0), scan, now: 10_000 }).release).toEqual([{ name: 'm', version: '2' }]);
    expect(plan({ held: draining(5000, 1), scan, now: 10_000 }).release).toEqual([]);
    expect(plan({ held: draining(9000, 0), scan, now: 10_000 }).release).toEqual([]);
    // Asked for again while draining: a new session is loaded, the draining one finishes its jobs.
    expect(loads(plan({ held: draining(9000, 1), scan: [repo('m', { '1': 'd1', '2': 'd2' })] }))).toEqual([['m@2', 'loaded', 100, true]]);
  });

  it('changes nothing but releases when the repository cannot be read', () => {
    const p = plan({ held: [held('m', { version: '1' }, { version: '2', state: 'draining', drainingSince: 0 })], scan: null });
    expect([p.load, p.drain, p.forget]).toEqual([[], [], []]);
    expect(p.release).toEqual([{ name: 'm', version: '2' }]);
  });

  it('keeps a model whose model.json broke as it serves, and reports why', () => {
    const broken: RepositoryModel = { ...repo('m', {}), versions: [], error: { code: 'invalid_model', message: 'model.json is not valid JSON' } };
    const p = plan({ held: [held('m', { version: '1' })], scan: [broken] });
    expect([p.load, p.drain]).toEqual([[], []]);
    expect(p.models).toEqual([{ name: 'm', error: 'model.json is not valid JSON', unloaded: false, notes: [] }]);
  });

  it('moves traffic when the weights change, without loading anything', () => {
    const p = plan({
      held: [held('m', { version: '1', weight: 90 }, { version: '2', weight: 10 })],
      scan: [repo('m', { '1': 'd1', '2': 'd2' }, { versionPolicy: 'all', weights: { '1': 50, '2': 50 } })],
    });
    expect(p.load).toEqual([]);
    expect(p.weights).toEqual([
      { name: 'm', version: '1', weight: 50 },
      { name: 'm', version: '2', weight: 50 },
    ]);
  });
});

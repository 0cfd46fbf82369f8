import type { WorkerView } from '@argus/broker';
import type { HostedModelStatus, ModelInfo, ModelVersionState } from '@argus/contracts';
import { testModelInfo } from '@argus/testing';
import { ApiError } from '../errors/api-error';
import { chooseVersion, modelViews } from './version-choice';

const described = (version: string, weight: number): ModelInfo => ({ ...testModelInfo(['person']), version, weight, digest: `d${version}` });

/** A live process holding model m with versions `version: [state, weight]`. */
function worker(id: string, versions: Record<string, [ModelVersionState, number, string?]>, modelState?: HostedModelStatus['state'], reason: string | null = null): WorkerView {
  const list = Object.entries(versions).map(([version, [state, weight, why]]) => ({
    version,
    digest: `d${version}`,
    weight,
    state,
    reason: why ?? null,
    loadedAt: null,
    inFlight: 0,
    provider: 'cpu',
  }));
  const serving = list.some((v) => v.state === 'serving');
  return {
    id,
    at: new Date().toISOString(),
    expiresAt: Date.now() + 10_000,
    models: [{ name: 'yolox-nano', version: '', provider: '', state: modelState ?? (serving ? 'serving' : 'unavailable'), reason, versions: list }],
  };
}

const view = (descriptions: ModelInfo[], workers: WorkerView[]) => {
  const found = modelViews(descriptions, workers).find((v) => v.name === 'yolox-nano');
  if (!found) throw new Error('no view');
  return found;
};

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof ApiError) return `${error.status} ${error.code}: ${error.message}`;
    throw error;
  }
  return 'accepted';
}

describe(modelViews.name, () => {
  it('merges the processes\' reports per version: the best state, how many serve it, and the reason of one that does not', () => {
    const [v] = modelViews(
      [described('1', 90), described('2', 10)],
      [worker('a', { '1': ['serving', 90], '2': ['failed', 10, 'bad file'] }), worker('b', { '1': ['serving', 90], '2': ['serving', 10] })],
    );
    expect(v?.versions.map((x) => [x.version, x.state, x.workers, x.weight, x.reason])).toEqual([
      ['1', 'serving', 2, 90, null],
      ['2', 'serving', 1, 10, null],
    ]);
    expect([v?.state, v?.workers]).toEqual(['serving', 2]);
  });

  it('shows a model no live process holds as offline, on its last published versions', () => {
    const [v] = modelViews([described('1', 100)], []);
    expect([v?.state, v?.workers, v?.versions.map((x) => [x.version, x.state])]).toEqual(['offline', 0, [['1', 'offline']]]);
  });
});

describe(chooseVersion.name, () => {
  const canary = view([described('1', 90), described('2', 10)], [worker('a', { '1': ['serving', 90], '2': ['serving', 10] })]);

  it('splits requests that name no version by the weights', () => {
    expect([0, 0.5, 0.899, 0.9, 0.999].map((r) => chooseVersion(canary, { name: 'yolox-nano' }, 'wait', r))).toEqual(
      ['1', '1', '1', '2', '2'].map((version) => ({ info: expect.objectContaining({ version, digest: `d${version}` }), pinned: false })),
    );
  });

  it('runs a pinned request on the version named, whatever its weight', () => {
    const zero = view([described('1', 100), described('2', 0)], [worker('a', { '1': ['serving', 100], '2': ['serving', 0] })]);
    expect(chooseVersion(zero, { name: 'yolox-nano', version: '2' }, 'wait', 0)).toEqual({ info: expect.objectContaining({ version: '2' }), pinned: true });
    // A weighted pick never lands on weight 0.
    expect(chooseVersion(zero, { name: 'yolox-nano' }, 'wait', 0.999).info.version).toBe('1');
  });

  it('refuses a version nobody knows (422) and one that does not serve while others do (503, Retry-After while it loads)', () => {
    expect(refusal(() => chooseVersion(canary, { name: 'yolox-nano', version: '7' }, 'wait', 0))).toBe('422 unknown_model: Model "yolox-nano" has no version "7"; its versions: 1, 2');
    const loading = view([described('1', 100)], [worker('a', { '1': ['serving', 100], '2': ['loading', 0] })]);
    const refused = (() => {
      try {
        chooseVersion(loading, { name: 'yolox-nano', version: '2' }, 'wait', 0);
      } catch (error) {
        return error as ApiError;
      }
      return undefined;
    })();
    expect([refused?.status, refused?.code, refused?.headers['Retry-After']]).toEqual([503, 'model_unavailable', '5']);
    const unloaded = view([described('1', 100), described('2', 0)], [worker('a', { '1': ['serving', 100], '2': ['unloaded', 0, 'unloaded by an operator'] })]);
    expect(refusal(() => chooseVersion(unloaded, { name: 'yolox-nano', version: '2' }, 'wait', 0))).toBe(
      '503 model_unavailable: Version 2 of model "yolox-nano" is not served: it is unloaded (unloaded by an operator)',
    );
  });

  it('takes work for a model no live process holds on its last weights, so it waits for its pool', () => {
    const offline = view([described('1', 100), described('2', 0)], []);
    expect(chooseVersion(offline, { name: 'yolox-nano' }, 'fail', 0.5)).toEqual({ info: expect.objectContaining({ version: '1' }), pinned: false });
    expect(chooseVersion(offline, { name: 'yolox-nano', version: '2' }, 'wait', 0.5)).toEqual({ info: expect.objectContaining({ version: '2' }), pinned: true });
  });

  it('lets work for a model the processes report unavailable wait, or refuses it with the reason, as UNAVAILABLE_MODEL_JOBS says', () => {
    const broken = view([described('1', 100)], [worker('a', { '1': ['failed', 100, 'protobuf parsing failed'] }, 'unavailable', '1: protobuf parsing failed')]);
    expect(chooseVersion(broken, { name: 'yolox-nano' }, 'wait', 0)).toEqual({ info: expect.objectContaining({ version: '1' }), pinned: false });
    expect(refusal(() => chooseVersion(broken, { name: 'yolox-nano' }, 'fail', 0))).toBe('503 model_unavailable: Model "yolox-nano" is unavailable: 1: protobuf parsing failed');
    // Never loaded anywhere: no description to take the request on (labels, version), whatever the setting.
    const never = view([], [worker('a', { '1': ['failed', 100, 'protobuf parsing failed'] }, 'unavailable', '1: protobuf parsing failed')]);
    expect(refusal(() => chooseVersion(never, { name: 'yolox-nano' }, 'wait', 0))).toMatch(/^503 model_unavailable: Model "yolox-nano" is unavailable/);
    const unloaded = view([described('1', 100)], [worker('a', { '1': ['unloaded', 100] }, 'unloaded', 'unloaded by an operator')]);
    expect(refusal(() => chooseVersion(unloaded, { name: 'yolox-nano' }, 'fail', 0))).toBe('503 model_unavailable: Model "yolox-nano" is unloaded: unloaded by an operator');
  });

  it('serves the newest serving version when none of the serving ones has a weight (one kept serving while its replacement failed)', () => {
    const kept = view([described('1', 0), described('2', 100)], [worker('a', { '1': ['serving', 0], '2': ['failed', 100, 'bad'] })]);
    expect(chooseVersion(kept, { name: 'yolox-nano' }, 'wait', 0.7).info.version).toBe('1');
  });
});

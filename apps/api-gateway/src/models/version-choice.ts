import type { WorkerView } from '@argus/broker';
import {
  compareVersions,
  type ModelInfo,
  type ModelSelector,
  type ModelVersionState,
  pickVersion,
  primaryVersion,
  type ServedModelState,
  type ServedVersionState,
  type VersionSummary,
} from '@argus/contracts';
import { ApiError } from '../errors/api-error';

// How the gateway sees each model across the live inference processes, and which version a
// request runs on: pure, so every rule is unit-tested (version-choice.spec.ts).

/** One model across the published descriptions and the live processes' heartbeats. */
export interface ModelView {
  name: string;
  /** The published description of each version (labels, defaults, digest, weight). */
  descriptions: Map<string, ModelInfo>;
  /** Every version described or held by a live process, oldest first. */
  versions: VersionSummary[];
  state: ServedModelState;
  reason: string | null;
  /** Live processes serving some version of it. */
  workers: number;
}

/** What a request runs on. */
export interface VersionChoice {
  info: ModelInfo;
  /** The client named the version (`name@version`). */
  pinned: boolean;
}

/** When a version is in several states across processes, the one that says most about where it can run. */
const STATE_RANK: Record<ModelVersionState, number> = { serving: 0, loading: 1, draining: 2, failed: 3, unloaded: 4 };

/** The models as the descriptions and the live processes show them, by name. */
export function modelViews(descriptions: readonly ModelInfo[], live: readonly WorkerView[]): ModelView[] {
  const names = new Set([...descriptions.map((d) => d.name), ...live.flatMap((w) => w.models.map((m) => m.name))]);
  return [...names].sort().map((name) => {
    const described = new Map(descriptions.filter((d) => d.name === name).map((d) => [d.version, d]));
    const held = live.flatMap((w) => w.models.filter((m) => m.name === name));
    const versionNames = new Set([...described.keys(), ...held.flatMap((m) => m.versions.map((v) => v.version))]);
    const versions = [...versionNames].sort(compareVersions).map((version): VersionSummary => {
      const reports = held.flatMap((m) => m.versions.filter((v) => v.version === version)).sort((a, b) => STATE_RANK[a.state] - STATE_RANK[b.state]);
      const best = reports[0];
      const description = described.get(version);
      const state: ServedVersionState = best?.state ?? 'offline';
      return {
        version,
        digest: best?.digest ?? description?.digest ?? null,
        weight: best?.weight ?? description?.weight ?? 0,
        state,
        reason: state === 'serving' ? null : (best?.reason ?? null),
        workers: reports.filter((r) => r.state === 'serving').length,
      };
    });
    const workers = held.filter((m) => m.state === 'serving').length;
    let state: ServedModelState;
    if (workers > 0) state = 'serving';
    else if (held.length === 0) state = 'offline';
    else if (held.some((m) => m.state === 'loading')) state = 'loading';
    else if (held.every((m) => m.state === 'unloaded')) state = 'unloaded';
    else state = 'unavailable';
    const reason = state === 'serving' || state === 'offline' ? null : (held.find((m) => m.reason !== null)?.reason ?? null);
    return { name, descriptions: described, versions, state, reason, workers };
  });
}

/**
 * The version a request runs on. Pinned (`name@version`): that version while a live process
 * serves it; 422 for a version nobody knows, 503 model_unavailable for one that is loading,
 * draining, failed or unloaded while others serve. Otherwise one of the serving versions, by the
 * traffic weights (`random` in [0, 1)). With no live process holding the model (a pool scaled to
 * zero, restarting) the request is taken on the last published weights and waits; with live
 * processes reporting the model unavailable it waits too, or is refused (503) when
 * `unavailable` is 'fail' or when there is no description to take it on.
 */
export function chooseVersion(view: ModelView, selector: ModelSelector, unavailable: 'wait' | 'fail', random: number): VersionChoice {
  const serving = view.versions.filter((v) => v.state === 'serving' && view.descriptions.has(v.version));
  const describe = (version: string) => view.descriptions.get(version) as ModelInfo;
  if (selector.version !== undefined) {
    const asked = selector.version;
    if (serving.some((v) => v.version === asked)) return { info: describe(asked), pinned: true };
    const known = view.versions.find((v) => v.version === asked);
    if (!known) {
      throw new ApiError('unknown_model', `Model "${view.name}" has no version "${asked}"; its versions: ${view.versions.map((v) => v.version).join(', ') || 'none'}`);
    }
    const description = view.descriptions.get(asked);
    if (view.state !== 'offline' || !description || unavailable === 'fail') {
      const why = known.state === 'offline' ? 'no inference process holds it now' : `it is ${known.state}${known.reason ? ` (${known.reason})` : ''}`;
      throw unavailableError(`Version ${asked} of model "${view.name}" is not served: ${why}`, known.state === 'loading');
    }
    return { info: description, pinned: true };
  }
  if (serving.length > 0) {
    const weighted = serving.some((v) => v.weight > 0) ? pickVersion(serving, random) : (primaryVersion(serving)?.version as string);
    return { info: describe(weighted), pinned: false };
  }
  const last = primaryVersion([...view.descriptions.values()]);
  if (view.state === 'offline' && last) return { info: last, pinned: false };
  if (!last || unavailable === 'fail') {
    throw unavailableError(`Model "${view.name}" is ${view.state === 'offline' ? 'not served by any inference process' : view.state}${view.reason ? `: ${view.reason}` : ''}`, view.state === 'loading');
  }
  return { info: last, pinned: false };
}

function unavailableError(message: string, soon: boolean): ApiError {
  return new ApiError('model_unavailable', message, soon ? { 'Retry-After': '5' } : {});
}

import { formatModelSelector, isUnloaded, type ModelControl, type ModelVersionState, selectVersions } from '@argus/contracts';
import type { ModelEntry, RepositoryModel } from '@argus/vision';

// What to change between what a process holds and what the repository and the operators ask
// for: pure, so every rule is tested without a model (version-plan.spec.ts). ModelHost applies it.

/** A version as the process holds it when it plans. */
export interface HeldVersion {
  version: string;
  state: ModelVersionState;
  /** The digest loaded (serving, draining), or the one that failed (failed); null when unreadable or unknown. */
  digest: string | null;
  /** A digest that failed to load while this version served (a file replaced by a broken one): not tried again on every poll. */
  failedDigest?: string | null;
  weight: number;
  /** Jobs running on it (its current session and any retired by a reload). */
  inFlight: number;
  /** When it was withdrawn from what the process publishes (epoch ms); null unless draining. */
  drainingSince: number | null;
}

export interface HeldModel {
  name: string;
  versions: HeldVersion[];
}

export interface PlanInput {
  held: readonly HeldModel[];
  /** The repository as scanned now; null when it could not be read (then nothing is loaded or drained on its account). */
  scan: readonly RepositoryModel[] | null;
  control: ModelControl;
  /** The load and reload counts this process has already acted on. */
  applied: Pick<ModelControl, 'loads' | 'reloads'>;
  /** MODELS: the models this process serves; empty serves every model of the repository. */
  only: readonly string[];
  now: number;
  /** How long a withdrawn version keeps taking the jobs already sent to it (longer than gateways cache what is published). */
  drainGraceMs: number;
}

/** Why a version is loaded: first seen, its file or settings changed, an operator asked to reload, to retry after a failure, or its unload was lifted. */
export type LoadReason = 'new' | 'changed' | 'reload' | 'retry' | 'loaded';

export interface LoadStep {
  name: string;
  version: string;
  entry: ModelEntry;
  weight: number;
  reason: LoadReason;
  /**
   * It has a session already (serving, or draining and asked for again): that session keeps its
   * role until the new one is warm, and on failure; once the new one serves, it finishes its jobs
   * in hand and is released.
   */
  replaces: boolean;
}

/** Why a serving version is withdrawn. */
export type DrainReason = 'removed' | 'deselected' | 'unloaded' | 'model-removed' | 'model-unloaded';

export interface DrainStep {
  name: string;
  version: string;
  reason: DrainReason;
  /**
   * Drain it only if another version of its model serves once the loads are done: a version the
   * repository no longer selects keeps serving while its replacement cannot be loaded.
   */
  unlessLast: boolean;
}

export interface VersionKey {
  name: string;
  version: string;
}

export interface ModelVerdict {
  name: string;
  /** Why the model as a whole cannot be served as the repository says (a broken model.json, not in the repository); null when it can. */
  error: string | null;
  /** An operator unloaded the whole model. */
  unloaded: boolean;
  /** What in its policy and weights did not apply. */
  notes: string[];
}

export interface VersionPlan {
  /** Versions to load and warm (reloads of serving ones included), in order. */
  load: LoadStep[];
  /** Serving versions to withdraw: published as draining, released once drained. */
  drain: DrainStep[];
  /** Draining versions past their grace with no job in flight: release their sessions. */
  release: VersionKey[];
  /** Versions the repository selects that cannot be read: failed with the reason (nothing to load). */
  fail: (VersionKey & { digest: string | null; weight: number; reason: string })[];
  /** Versions not loaded because an operator unloaded them: shown as unloaded. */
  unload: (VersionKey & { digest: string | null; weight: number })[];
  /** Failed or unloaded versions no longer asked for: dropped from what the process reports. */
  forget: VersionKey[];
  /** New traffic weights of versions held. */
  weights: (VersionKey & { weight: number })[];
  /** Every model in scope, with what stops it as a whole. */
  models: ModelVerdict[];
}

/** What to load, reload, drain, release, fail and forget, given what is held and what is asked for. */
export function planVersions(input: PlanInput): VersionPlan {
  const plan: VersionPlan = { load: [], drain: [], release: [], fail: [], unload: [], forget: [], weights: [], models: [] };
  const { control, only } = input;
  const inScope = (name: string) => only.length === 0 || only.includes(name);
  const held = new Map(input.held.map((m) => [m.name, m]));

  // Releases first: they depend on time and jobs in flight only.
  for (const model of input.held) {
    for (const v of model.versions) {
      if (v.state === 'draining' && v.drainingSince !== null && input.now - v.drainingSince >= input.drainGraceMs && v.inFlight === 0) {
        plan.release.push({ name: model.name, version: v.version });
      }
    }
  }
  if (input.scan === null) {
    // The repository could not be read (a lost mount, a moment mid-copy): keep everything as it is.
    for (const model of input.held) plan.models.push({ name: model.name, error: null, unloaded: control.unloaded.includes(model.name), notes: [] });
    return plan;
  }

  const scanned = new Map(input.scan.filter((m) => inScope(m.name)).map((m) => [m.name, m]));
  const names = new Set([...scanned.keys(), ...only, ...held.keys()]);
  for (const name of [...names].sort()) {
    const current = held.get(name)?.versions ?? [];
    const repo = scanned.get(name);
    const modelUnloaded = control.unloaded.includes(name);
    if (!inScope(name) || !repo) {
      // Gone from the repository (or no longer in MODELS): withdraw what serves, forget the rest.
      for (const v of current) retire(plan, name, v, modelUnloaded ? 'model-unloaded' : 'model-removed', false);
      // A model MODELS names must be there: reported unavailable. Any other is simply gone.
      if (only.includes(name)) plan.models.push({ name, error: 'not in the model repository', unloaded: modelUnloaded, notes: [] });
      continue;
    }
    if (repo.error) {
      // A broken model.json or folder: what serves keeps serving, nothing new is loaded.
      plan.models.push({ name, error: repo.error.message, unloaded: modelUnloaded, notes: [] });
      continue;
    }
    const selection = selectVersions(repo.versions, repo.config.versionPolicy, repo.config.weights);
    plan.models.push({
      name,
      error: selection.served.length === 0 ? `its versionPolicy serves none of its versions (${repo.versions.map((v) => v.version).join(', ') || 'none'})` : null,
      unloaded: modelUnloaded,
      notes: selection.notes,
    });
    const wanted = new Map(selection.served.map((s) => [s.version, s]));
    for (const s of selection.served) {
      const v = current.find((h) => h.version === s.version);
      const entry = s.entry;
      const key = { name, version: s.version };
      if (isUnloaded(control, name, s.version)) {
        // A serving version drains first; it shows as unloaded once released.
        if (v?.state === 'serving') retire(plan, name, v, modelUnloaded ? 'model-unloaded' : 'unloaded', false);
        else if (v?.state === 'unloaded') {
          if (v.weight !== s.weight) plan.weights.push({ ...key, weight: s.weight });
        } else if (v?.state !== 'draining') plan.unload.push({ ...key, digest: entry.error ? null : entry.digest, weight: s.weight });
        continue;
      }
      if (entry.error) {
        // Unreadable: a serving session stays (its file may be mid-copy), otherwise it failed.
        if (v?.state === 'serving') {
          if (v.weight !== s.weight) plan.weights.push({ ...key, weight: s.weight });
        } else plan.fail.push({ ...key, digest: null, weight: s.weight, reason: entry.error.message });
        continue;
      }
      const asked = (counts: Record<string, number>, seen: Record<string, number>) =>
        [name, formatModelSelector(key)].some((selector) => (counts[selector] ?? 0) > (seen[selector] ?? 0));
      const reloadAsked = asked(control.reloads, input.applied.reloads);
      const loadAsked = asked(control.loads, input.applied.loads);
      const load = (reason: LoadReason, replaces: boolean) => plan.load.push({ ...key, entry, weight: s.weight, reason, replaces });
      if (!v) load('new', false);
      else if (v.state === 'draining') load('loaded', true);
      else if (v.state === 'unloaded') load('loaded', false);
      else if (v.state === 'failed') {
        if (v.digest !== entry.digest) load('changed', false);
        else if (reloadAsked || loadAsked) load('retry', false);
        else if (v.weight !== s.weight) plan.weights.push({ ...key, weight: s.weight });
      } else if (v.state === 'serving') {
        if (v.digest !== entry.digest && (v.failedDigest !== entry.digest || reloadAsked || loadAsked)) load('changed', true);
        else if (reloadAsked) load('reload', true);
        if (v.weight !== s.weight) plan.weights.push({ ...key, weight: s.weight });
      }
    }
    for (const v of current) {
      if (wanted.has(v.version)) continue;
      const onDisk = repo.versions.some((r) => r.version === v.version);
      retire(plan, name, v, onDisk ? 'deselected' : 'removed', true);
    }
  }
  return plan;
}

/** A version no longer asked for: a serving one drains, a failed or unloaded one is forgotten. */
function retire(plan: VersionPlan, name: string, v: HeldVersion, reason: DrainReason, unlessLast: boolean): void {
  if (v.state === 'serving') plan.drain.push({ name, version: v.version, reason, unlessLast });
  else if (v.state === 'failed' || v.state === 'unloaded') plan.forget.push({ name, version: v.version });
}

/** Words for a drain's reason, for the version's `reason` while it drains and for logs. */
export function drainWords(reason: DrainReason): string {
  switch (reason) {
    case 'removed':
      return 'removed from the repository';
    case 'deselected':
      return 'no longer selected by the versionPolicy';
    case 'unloaded':
      return 'unloaded by an operator';
    case 'model-removed':
      return 'its model left the repository';
    case 'model-unloaded':
      return 'its model was unloaded by an operator';
  }
}

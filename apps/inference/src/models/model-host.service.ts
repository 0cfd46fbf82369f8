import { Batcher, ModelRegistry } from '@argus/broker';
import { ARGUS_CONFIG, type ArgusConfig } from '@argus/config';
import {
  compareVersions,
  type HostedModelStatus,
  MODEL_VERSION_STATES,
  type ModelControl,
  type ModelInfo,
  type ModelVersionState,
  primaryVersion,
  type VersionStatus,
} from '@argus/contracts';
import { Metrics } from '@argus/observability';
import type { ImageSlot, RepositoryModel, SessionOptions } from '@argus/vision';
import { type BeforeApplicationShutdown, Inject, Injectable, Logger, type OnApplicationShutdown, Optional } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { JobFailure } from '../detect/failure';
import { type ModelSession, ModelSource } from './model-source';
import { type DrainReason, drainWords, type HeldModel, type LoadStep, planVersions, type VersionKey } from './version-plan';

/** Timings of the host; tests shorten them. */
export interface ModelHostOptions {
  /**
   * How long a withdrawn version keeps taking the jobs already sent to it before it is released:
   * longer than a gateway caches what processes publish (1 s), so none picks it after.
   */
  drainGraceMs: number;
  heartbeatMs: number;
  heartbeatTtlSeconds: number;
}

export const MODEL_HOST_OPTIONS = Symbol('MODEL_HOST_OPTIONS');
const DEFAULT_OPTIONS: ModelHostOptions = { drainGraceMs: 3000, heartbeatMs: 5000, heartbeatTtlSeconds: 15 };

/** A loaded, warmed version and the batcher in front of it. */
export interface HostedModel {
  session: ModelSession;
  batcher: Batcher<ImageSlot, Float32Array>;
  /** What is published about it (the version that runs, its digest and weight). */
  info: ModelInfo;
  /** Jobs running on it now. */
  inFlight: number;
}

/** What one job runs on, until it calls release(). */
export interface ModelLease {
  model: HostedModel;
  /** The version the job asked for is not served here: this is its model's primary version instead. */
  fallback: boolean;
  release(): void;
}

/** Starts and stops a model's queue worker (DetectProcessor). */
export interface ModelWorkers {
  start(model: string): void;
  /** Resolves once the jobs in hand have finished. */
  stop(model: string): Promise<void>;
}

/** Why a version was refused: asked for one execution provider, it loaded on another. */
interface ProviderFallback {
  asked: string;
  running: string;
  why: string[];
}

interface VersionRecord {
  version: string;
  state: ModelVersionState;
  digest: string | null;
  failedDigest: string | null;
  weight: number;
  reason: string | null;
  loadedAt: string | null;
  current: HostedModel | undefined;
  /** Sessions it replaced (a reload) or stopped serving, finishing their jobs before release. */
  retired: HostedModel[];
  drainingSince: number | null;
  drainReason: DrainReason | null;
  /** Set once its sessions are being released: no new job takes them. */
  releasing: boolean;
  fallback: ProviderFallback | null;
}

interface ModelRecord {
  name: string;
  versions: Map<string, VersionRecord>;
  /** Why the model as a whole cannot be served as the repository says. */
  error: string | null;
  unloaded: boolean;
}

class ProviderFallbackError extends Error {
  constructor(readonly fallback: ProviderFallback) {
    super(`asked for ${fallback.asked}, it runs on ${fallback.running} (${fallback.why.join('; ') || 'no reason given'}); set ALLOW_CPU_FALLBACK=true to serve on CPU`);
  }
}

/**
 * Serves the versions each model's model.json selects, each as its own loaded and warmed session
 * with its traffic weight, and keeps that true while the process runs: the repository is scanned
 * every MODEL_POLL_SECONDS (and at once when an operator asks through the admin API), and
 * {@link planVersions} says what to load, reload, drain and release. A version is published only
 * once warm; a withdrawn one is first published as draining (gateways stop sending to it), takes
 * the jobs already sent to it for a grace period, then is released once its last job is done. A
 * load that fails keeps what already serves and is reported (state, reason, metric, log); one
 * model failing never stops the others. The models' queue workers start once their first version
 * is warm and stop (their jobs in hand finishing) before their last version goes.
 */
@Injectable()
export class ModelHost implements BeforeApplicationShutdown, OnApplicationShutdown {
  readonly workerId = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  private readonly logger = new Logger(ModelHost.name);
  private readonly options: ModelHostOptions;
  private readonly models = new Map<string, ModelRecord>();
  private workers: ModelWorkers | undefined;
  private control: ModelControl = { unloaded: [], loads: {}, reloads: {} };
  private applied: Pick<ModelControl, 'loads' | 'reloads'> | undefined;
  private scanError: string | null = null;
  private passes = 0;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private followUp: NodeJS.Timeout | undefined;

  constructor(
    @Inject(ARGUS_CONFIG) private readonly config: ArgusConfig,
    private readonly source: ModelSource,
    private readonly registry: ModelRegistry,
    private readonly metrics: Metrics,
    @Optional() @Inject(MODEL_HOST_OPTIONS) options?: Partial<ModelHostOptions>,
  ) {
    this.options = { ...DEFAULT_OPTIONS, ...options };
  }

  /**
   * Loads and warms what the repository asks for (the models' workers start as each is warm),
   * then keeps it in step: polling, the operators' nudges, and a heartbeat.
   */
  async start(workers: ModelWorkers): Promise<void> {
    this.workers = workers;
    await this.sync();
    const every = (ms: number, fn: () => Promise<unknown>) => {
      const timer = setInterval(() => void fn().catch((error: unknown) => this.logger.warn({ msg: 'model upkeep failed', error: messageOf(error) })), ms);
      timer.unref();
      this.timers.add(timer);
    };
    every(this.options.heartbeatMs, () => this.publish());
    const poll = this.config.models.pollSeconds;
    if (poll > 0) every(poll * 1000, () => this.sync());
    await this.registry.subscribe(() => void this.sync()).catch((error: unknown) => {
      this.logger.warn({ msg: 'not listening for the operators\' model changes; they apply at the next poll', error: messageOf(error) });
    });
  }

  /** Brings what is served in line with the repository and the operators' wishes; one pass at a time (a call during a pass runs one more after it). */
  sync(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    const loop = async () => {
      do {
        this.again = false;
        await this.pass().catch((error: unknown) => this.logger.error({ msg: 'model sync failed', error: messageOf(error) }));
      } while (this.again && !this.stopped);
    };
    this.running = loop().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /**
   * The session a job runs on. The version it asked for while that one serves, or drains within
   * its grace (jobs sent before it was withdrawn still run on it); otherwise a pinned job fails
   * with model_unavailable, and any other runs on its model's primary version (`fallback`). After
   * the grace a backlog of jobs for a withdrawn version no longer holds its release back.
   */
  acquire(name: string, version: string, pinned: boolean): ModelLease {
    const model = this.models.get(name);
    const asked = model?.versions.get(version);
    const withinGrace = (v: VersionRecord) => v.drainingSince === null || Date.now() - v.drainingSince < this.options.drainGraceMs;
    if (asked?.current && !asked.releasing && (asked.state === 'serving' || (asked.state === 'draining' && withinGrace(asked)))) {
      return this.lease(asked.current, false);
    }
    if (pinned) {
      const why = asked ? `it is ${asked.state}${asked.reason ? `: ${asked.reason}` : ''}` : 'this process does not hold it';
      throw new JobFailure('model_unavailable', `Version ${version} of model "${name}" is not served (${why}); it was asked for by version, so no other version ran`);
    }
    const primary = model ? this.primary(model) : undefined;
    // No version of the model here (it is going away, or never loaded): worth another attempt later, maybe elsewhere.
    if (!primary?.current) throw new Error(`This process serves no version of model "${name}" right now`);
    return this.lease(primary.current, true);
  }

  /** The models and versions this process holds, as it publishes them. */
  status(): HostedModelStatus[] {
    return [...this.models.values()].sort((a, b) => a.name.localeCompare(b.name)).map((m) => this.modelStatus(m));
  }

  /**
   * Ready once the first pass is done (every model serving or reported unavailable) and at least
   * one model serves, and no version was refused for running on CPU after CUDA was asked for
   * (unless ALLOW_CPU_FALLBACK). Models added later do not change readiness while they load.
   */
  readiness(): { ok: boolean; detail: unknown } {
    if (this.passes === 0) return { ok: false, detail: 'models loading' };
    const fellBack = [...this.models.values()].flatMap((m) =>
      [...m.versions.values()].flatMap((v) =>
        v.fallback
          ? [{ model: m.name, version: v.version, asked: v.fallback.asked, running: v.fallback.running, why: v.fallback.why, fix: 'install the provider libraries, or set ALLOW_CPU_FALLBACK=true to serve on CPU' }]
          : [],
      ),
    );
    if (fellBack.length > 0) return { ok: false, detail: fellBack };
    const status = this.status();
    const detail = status.map((m) => ({
      model: m.name,
      state: m.state,
      reason: m.reason,
      versions: m.versions.map((v) => ({ version: v.version, state: v.state, weight: v.weight, provider: v.provider, reason: v.reason })),
    }));
    if (!status.some((m) => m.state === 'serving')) {
      return { ok: false, detail: status.length > 0 ? detail : (this.scanError ?? 'no models to serve') };
    }
    return { ok: true, detail };
  }

  /** No more passes once shutdown begins: the workers are closing, and none may start again. */
  beforeApplicationShutdown(): void {
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    if (this.followUp) clearTimeout(this.followUp);
  }

  async onApplicationShutdown(): Promise<void> {
    this.beforeApplicationShutdown();
    await this.running?.catch(() => undefined);
    await this.registry.withdrawWorker(this.workerId).catch(() => undefined);
    const sessions = [...this.models.values()].flatMap((m) => [...m.versions.values()].flatMap((v) => [v.current, ...v.retired]));
    await Promise.allSettled(sessions.filter((s): s is HostedModel => s !== undefined).map((s) => s.session.release()));
  }

  // ---- one pass

  private async pass(): Promise<void> {
    if (this.stopped) return;
    let scan: RepositoryModel[] | null = null;
    try {
      scan = await this.source.scan();
      this.scanError = null;
    } catch (error) {
      if (this.scanError !== messageOf(error)) this.logger.error({ msg: 'the model repository cannot be read; serving what is loaded', error: messageOf(error) });
      this.scanError = messageOf(error);
    }
    // A Redis hiccup keeps the operators' last known wishes.
    this.control = await this.registry.control().catch(() => this.control);
    // A process starting acts on what is asked from now on, not on every reload asked before it.
    this.applied ??= { loads: { ...this.control.loads }, reloads: { ...this.control.reloads } };
    const plan = planVersions({
      held: this.held(),
      scan,
      control: this.control,
      applied: this.applied,
      only: this.config.models.only,
      now: Date.now(),
      drainGraceMs: this.options.drainGraceMs,
    });

    const released: VersionKey[] = [];
    for (const key of plan.release) if (await this.release(key)) released.push(key);
    const inScope = new Set(plan.models.map((m) => m.name));
    for (const verdict of plan.models) {
      const model = this.model(verdict.name);
      if (verdict.error !== model.error && verdict.error) this.logger.error({ msg: 'model unavailable as the repository has it', model: verdict.name, reason: verdict.error });
      model.error = verdict.error;
      model.unloaded = verdict.unloaded;
      for (const note of verdict.notes) this.logger.warn({ msg: 'model.json names versions that do not apply', model: verdict.name, note });
    }
    for (const key of plan.forget) this.forget(key);
    for (const step of plan.fail) {
      const v = this.version(step.name, step.version);
      if (v.state === 'failed' && v.reason === step.reason) continue;
      this.metrics.modelLoadFailures.inc({ model: step.name, version: step.version });
      this.logger.error({ msg: 'model version cannot be loaded', model: step.name, version: step.version, reason: step.reason });
      Object.assign(v, { state: 'failed', digest: step.digest, weight: step.weight, reason: step.reason, fallback: null });
      this.stateMetric(step.name, v);
    }
    for (const step of plan.unload) {
      const v = this.version(step.name, step.version);
      Object.assign(v, { state: 'unloaded', digest: step.digest, weight: step.weight, reason: 'unloaded by an operator', fallback: null });
      this.stateMetric(step.name, v);
    }
    for (const step of plan.weights) {
      const v = this.models.get(step.name)?.versions.get(step.version);
      if (!v) continue;
      v.weight = step.weight;
      if (v.current) v.current.info = { ...v.current.info, weight: step.weight };
      this.metrics.modelVersionWeight.set({ model: step.name, version: step.version }, step.weight);
    }
    await this.publish();

    for (const step of plan.load) await this.load(step);
    for (const step of plan.drain) await this.drain(step.name, step.version, step.reason, step.unlessLast);
    await this.releaseRetired();
    // Models no longer in scope leave once nothing of them is held.
    for (const [name, model] of this.models) if (!inScope.has(name) && model.versions.size === 0) this.models.delete(name);
    this.applied = { loads: { ...this.control.loads }, reloads: { ...this.control.reloads } };
    await this.publish();
    if (scan) {
      // Descriptions of versions gone from the repository leave the catalog once no live process holds them.
      const gone = released.filter((k) => !scan.some((m) => m.name === k.name && m.versions.some((v) => v.version === k.version)));
      const withdrawn = await this.registry.withdraw(this.workerId, gone).catch(() => []);
      if (withdrawn.length > 0) this.logger.log({ msg: 'versions left the published catalog', versions: withdrawn });
    }
    this.passes++;
    this.scheduleFollowUp();
  }

  private async load(step: LoadStep): Promise<void> {
    const { name, version, entry } = step;
    const v = this.version(name, version);
    if (!step.replaces || !v.current) {
      Object.assign(v, { state: 'loading', digest: entry.digest, weight: step.weight, reason: null, fallback: null });
      this.stateMetric(name, v);
      await this.publish();
    }
    this.logger.log({ msg: 'loading model version', model: name, version, reason: step.reason, path: entry.path });
    let session: ModelSession | undefined;
    try {
      session = await this.source.open(entry, this.sessionOptions());
      const asked = this.config.models.executionProviders[0] ?? 'cpu';
      if (session.provider !== asked && !this.config.models.allowCpuFallback) {
        throw new ProviderFallbackError({ asked, running: session.provider, why: session.fallbackReasons });
      }
    } catch (error) {
      await session?.release().catch(() => undefined);
      this.metrics.modelLoadFailures.inc({ model: name, version });
      const reason = messageOf(error);
      const fallback = error instanceof ProviderFallbackError ? error.fallback : null;
      if (step.replaces && v.current) {
        // What serves goes on serving; the new file is not tried again until it changes or an operator asks.
        v.reason = `${step.reason === 'reload' ? 'reload' : 'loading the changed file'} failed, the loaded session goes on: ${reason}`;
        v.failedDigest = entry.digest;
      } else Object.assign(v, { state: 'failed', digest: entry.digest, reason, fallback });
      this.stateMetric(name, v);
      this.logger.error({ msg: 'model version failed to load', model: name, version, reason, kept: step.replaces && v.current !== undefined });
      await this.publish();
      return;
    }
    const loaded = session;
    const hosted: HostedModel = {
      session: loaded,
      batcher: new Batcher<ImageSlot, Float32Array>(
        (slots) => loaded.runSlots(slots),
        { maxBatchSize: loaded.maxBatchSize, maxWaitMs: this.config.models.batchMaxWaitMs, runsInFlight: loaded.modelThreads },
        (size) => this.metrics.batchSize.observe({ model: name, version }, size),
      ),
      info: { ...loaded.info(), digest: entry.digest, weight: step.weight, updatedAt: new Date().toISOString() },
      inFlight: 0,
    };
    loaded.onFailure((error) => this.threadDied(name, version, hosted, error));
    if (v.current) v.retired.push(v.current);
    Object.assign(v, {
      current: hosted,
      state: 'serving',
      digest: entry.digest,
      failedDigest: null,
      weight: step.weight,
      reason: null,
      loadedAt: new Date().toISOString(),
      drainingSince: null,
      drainReason: null,
      releasing: false,
      fallback: null,
    });
    const requested = this.config.models.executionProviders.join(',');
    this.metrics.modelInfo.set({ model: name, version, provider: loaded.provider, requested }, 1);
    this.metrics.modelLoadSeconds.set({ model: name, version, phase: 'load' }, loaded.loadMs / 1000);
    this.metrics.modelLoadSeconds.set({ model: name, version, phase: 'warmup' }, loaded.warmupMs / 1000);
    this.metrics.modelVersionWeight.set({ model: name, version }, step.weight);
    this.stateMetric(name, v);
    this.logger.log({
      msg: 'model version ready',
      model: name,
      version,
      digest: entry.digest.slice(0, 12),
      weight: step.weight,
      family: loaded.spec.family,
      provider: loaded.provider,
      requested: this.config.models.executionProviders,
      fallback: loaded.fallbackReasons,
      notes: loaded.notes,
      maxBatchSize: loaded.maxBatchSize,
      loadMs: Math.round(loaded.loadMs),
      warmupMs: Math.round(loaded.warmupMs),
    });
    // Published (taking traffic) only now that it is warm; the model's queue is consumed from now on.
    await this.publish();
    if (!this.stopped) this.workers?.start(name);
  }

  /**
   * Withdraws a serving version: published as draining at once, so gateways stop sending to it;
   * the jobs already sent still run on it, and a later pass releases it. Before the last version
   * of a model goes, the model's worker stops (its jobs in hand finish).
   */
  private async drain(name: string, version: string, reason: DrainReason, unlessLast: boolean): Promise<void> {
    const model = this.models.get(name);
    const v = model?.versions.get(version);
    if (!model || !v || v.state !== 'serving') return;
    const last = ![...model.versions.values()].some((o) => o !== v && o.state === 'serving');
    if (last && unlessLast) {
      const why = `kept serving: ${drainWords(reason)}, but no other version of the model serves`;
      if (v.reason !== why) this.logger.warn({ msg: 'model version kept serving', model: name, version, reason: why });
      v.reason = why;
      return;
    }
    if (last) await this.workers?.stop(name);
    Object.assign(v, { state: 'draining', reason: drainWords(reason), drainReason: reason });
    this.stateMetric(name, v);
    await this.publish();
    v.drainingSince = Date.now();
    this.logger.log({ msg: 'model version draining', model: name, version, reason: drainWords(reason), inFlight: v.current?.inFlight ?? 0 });
  }

  /** Releases a drained version's sessions; returns whether it did. */
  private async release(key: VersionKey): Promise<boolean> {
    const model = this.models.get(key.name);
    const v = model?.versions.get(key.version);
    if (!model || !v || v.state !== 'draining') return false;
    v.releasing = true;
    const sessions = [v.current, ...v.retired].filter((s): s is HostedModel => s !== undefined);
    v.current = undefined;
    v.retired = [];
    await Promise.allSettled(sessions.map((s) => s.session.release()));
    this.refreshModelInfo();
    this.logger.log({ msg: 'model version released', model: key.name, version: key.version });
    if (v.drainReason === 'unloaded' || v.drainReason === 'model-unloaded') {
      Object.assign(v, { state: 'unloaded', reason: 'unloaded by an operator', loadedAt: null, drainingSince: null, releasing: false });
      this.stateMetric(key.name, v);
    } else this.forget(key);
    return true;
  }

  /** Sessions replaced by a reload, released once their last job is done. */
  private async releaseRetired(): Promise<void> {
    for (const model of this.models.values()) {
      for (const v of model.versions.values()) {
        const done = v.retired.filter((s) => s.inFlight === 0);
        if (done.length === 0) continue;
        v.retired = v.retired.filter((s) => s.inFlight > 0);
        await Promise.allSettled(done.map((s) => s.session.release()));
      }
    }
  }

  /** A model thread that died takes its session with it: the version fails, and is loaded again at the next pass. */
  private threadDied(name: string, version: string, hosted: HostedModel, error: Error): void {
    const model = this.models.get(name);
    const v = model?.versions.get(version);
    if (!model || !v) return;
    this.metrics.modelLoadFailures.inc({ model: name, version });
    this.logger.error({ msg: 'a model thread died; the version will be loaded again', model: name, version, error: error.message });
    if (v.current === hosted) {
      // A null digest differs from the file's: the next pass loads it again.
      Object.assign(v, { current: undefined, state: 'failed', digest: null, reason: `the model thread died: ${error.message}` });
      this.stateMetric(name, v);
      this.refreshModelInfo();
      if (!this.primary(model)) void this.workers?.stop(name);
    } else v.retired = v.retired.filter((s) => s !== hosted);
    void this.publish().catch(() => undefined);
  }

  // ---- bookkeeping

  private lease(hosted: HostedModel, fallback: boolean): ModelLease {
    hosted.inFlight++;
    let released = false;
    return {
      model: hosted,
      fallback,
      release: () => {
        if (released) return;
        released = true;
        hosted.inFlight--;
        // A draining or replaced session waits for its last job: let the next pass see it done.
        if (hosted.inFlight === 0 && this.isRetiring(hosted)) this.scheduleFollowUp(0);
      },
    };
  }

  private isRetiring(hosted: HostedModel): boolean {
    for (const model of this.models.values()) {
      for (const v of model.versions.values()) {
        if (v.retired.includes(hosted) || (v.current === hosted && v.state === 'draining')) return true;
      }
    }
    return false;
  }

  /** The serving version with the most traffic (the newest among equals). */
  private primary(model: ModelRecord): VersionRecord | undefined {
    return primaryVersion([...model.versions.values()].filter((v) => v.state === 'serving' && v.current));
  }

  private model(name: string): ModelRecord {
    let model = this.models.get(name);
    if (!model) {
      model = { name, versions: new Map(), error: null, unloaded: false };
      this.models.set(name, model);
    }
    return model;
  }

  private version(name: string, version: string): VersionRecord {
    const model = this.model(name);
    let v = model.versions.get(version);
    if (!v) {
      v = {
        version,
        state: 'loading',
        digest: null,
        failedDigest: null,
        weight: 0,
        reason: null,
        loadedAt: null,
        current: undefined,
        retired: [],
        drainingSince: null,
        drainReason: null,
        releasing: false,
        fallback: null,
      };
      model.versions.set(version, v);
    }
    return v;
  }

  private forget(key: VersionKey): void {
    this.models.get(key.name)?.versions.delete(key.version);
    for (const state of MODEL_VERSION_STATES) this.metrics.modelVersionState.remove({ model: key.name, version: key.version, state });
    this.metrics.modelVersionWeight.remove({ model: key.name, version: key.version });
  }

  private held(): HeldModel[] {
    return [...this.models.values()].map((m) => ({
      name: m.name,
      versions: [...m.versions.values()].map((v) => ({
        version: v.version,
        state: v.state,
        digest: v.digest,
        failedDigest: v.failedDigest,
        weight: v.weight,
        inFlight: (v.current?.inFlight ?? 0) + v.retired.reduce((n, s) => n + s.inFlight, 0),
        drainingSince: v.drainingSince,
      })),
    }));
  }

  private stateMetric(model: string, v: VersionRecord): void {
    for (const state of MODEL_VERSION_STATES) this.metrics.modelVersionState.set({ model, version: v.version, state }, state === v.state ? 1 : 0);
  }

  /** argus_model_info: one series per loaded version (serving or draining). */
  private refreshModelInfo(): void {
    this.metrics.modelInfo.reset();
    const requested = this.config.models.executionProviders.join(',');
    for (const model of this.models.values()) {
      for (const v of model.versions.values()) {
        if (v.current) this.metrics.modelInfo.set({ model: model.name, version: v.version, provider: v.current.session.provider, requested }, 1);
      }
    }
  }

  private modelStatus(m: ModelRecord): HostedModelStatus {
    const versions: VersionStatus[] = [...m.versions.values()]
      .sort((a, b) => compareVersions(a.version, b.version))
      .map((v) => ({
        version: v.version,
        digest: v.digest,
        weight: v.weight,
        state: v.state,
        reason: v.reason,
        loadedAt: v.current ? v.loadedAt : null,
        inFlight: (v.current?.inFlight ?? 0) + v.retired.reduce((n, s) => n + s.inFlight, 0),
        provider: v.current?.session.provider ?? null,
      }));
    const primary = this.primary(m);
    const state = primary ? 'serving' : m.unloaded ? 'unloaded' : versions.some((v) => v.state === 'loading') ? 'loading' : 'unavailable';
    const failures = versions.filter((v) => v.reason !== null).map((v) => `${v.version}: ${v.reason}`);
    const reason =
      m.error ??
      (state === 'unloaded' ? 'unloaded by an operator' : state === 'unavailable' ? (failures.join('; ') || 'no version of it is served') : null);
    return { name: m.name, version: primary?.version ?? '', provider: primary?.current?.session.provider ?? '', state, reason, versions };
  }

  private async publish(): Promise<void> {
    if (this.stopped) return;
    const descriptions = [...this.models.values()].flatMap((m) => [...m.versions.values()].flatMap((v) => (v.state === 'serving' && v.current ? [v.current.info] : [])));
    await this.registry.publish(this.workerId, this.status(), descriptions, this.options.heartbeatTtlSeconds).catch((error: unknown) => {
      this.logger.warn({ msg: 'could not publish the models; the next heartbeat will', error: messageOf(error) });
    });
  }

  /** Another pass when a draining version's grace ends, or soon while one still has jobs in flight. */
  private scheduleFollowUp(inMs?: number): void {
    if (this.stopped) return;
    let due = inMs;
    if (due === undefined) {
      const now = Date.now();
      for (const model of this.models.values()) {
        for (const v of model.versions.values()) {
          const busy = v.retired.length > 0 || (v.state === 'draining' && v.drainingSince !== null);
          if (!busy) continue;
          const wait = v.state === 'draining' && v.drainingSince !== null ? Math.max(250, v.drainingSince + this.options.drainGraceMs - now) : 250;
          due = due === undefined ? wait : Math.min(due, wait);
        }
      }
    }
    if (due === undefined) return;
    if (this.followUp) clearTimeout(this.followUp);
    this.followUp = setTimeout(() => {
      this.followUp = undefined;
      void this.sync();
    }, due);
    this.followUp.unref();
  }

  private sessionOptions(): SessionOptions {
    const m = this.config.models;
    return {
      executionProviders: m.executionProviders,
      intraOpThreads: m.intraOpThreads,
      interOpThreads: m.interOpThreads,
      spinning: m.spinning,
      thread: m.thread,
      warmupRuns: m.warmupRuns,
      maxBatchSize: m.maxBatchSize,
      modelThreads: m.modelThreads,
      // Every job the worker holds may be for this version, each with one image in flight.
      sharedSlots: this.config.worker.concurrency,
      cudaDeviceId: m.cuda.deviceId,
    };
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

import { Cached, ModelRegistry, type WorkerView } from '@argus/broker';
import { ARGUS_CONFIG, type ArgusConfig } from '@argus/config';
import { type ModelInfo, type ModelProcessView, parseModelSelector, primaryVersion, type ServedModel, type UnavailableModel } from '@argus/contracts';
import { Inject, Injectable } from '@nestjs/common';
import { ApiError } from '../errors/api-error';
import { chooseVersion, type ModelView, modelViews, type VersionChoice } from './version-choice';

const FRESH_MS = 1000;

/**
 * The models inference processes have published and what the live ones hold, each read cached
 * for a second: every upload needs its version (part of the cache key) and labels, and Redis need
 * not be asked each time. A process withdrawing a version waits longer than that before it stops
 * taking the jobs sent to it.
 */
@Injectable()
export class ModelCatalog {
  private readonly descriptions: Cached<ModelInfo[]>;
  private readonly workers: Cached<WorkerView[]>;

  constructor(
    private readonly registry: ModelRegistry,
    @Inject(ARGUS_CONFIG) private readonly config: ArgusConfig,
  ) {
    this.descriptions = new Cached(() => registry.versions(), FRESH_MS);
    this.workers = new Cached(() => registry.liveWorkers(), FRESH_MS);
  }

  /** The names of the models published (each has a detection queue). */
  async names(): Promise<string[]> {
    return [...new Set((await this.descriptions.get()).map((d) => d.name))].sort();
  }

  /** Every model, as the descriptions and the live processes show it. */
  async views(): Promise<ModelView[]> {
    const [descriptions, workers] = await Promise.all([this.descriptions.get(), this.workers.get()]);
    return modelViews(descriptions, workers);
  }

  /** Inference processes serving some version of `model` now (by heartbeat). */
  async liveWorkers(model: string): Promise<number> {
    return (await this.views()).find((v) => v.name === model)?.workers ?? 0;
  }

  /**
   * The version a request for `name` or `name@version` runs on (see {@link chooseVersion}): 503
   * before any process has published, 422 for an unknown model or version, 503
   * model_unavailable per UNAVAILABLE_MODEL_JOBS.
   */
  async choose(text: string, random = Math.random()): Promise<VersionChoice> {
    const selector = parseModelSelector(text);
    if (!selector) throw new ApiError('validation_failed', `"${text}" is not a model name or name@version`);
    const views = await this.views();
    if (views.length === 0) {
      throw new ApiError('no_models', 'No inference worker has published its models yet; retry shortly', { 'Retry-After': '5' });
    }
    const view = views.find((v) => v.name === selector.name);
    if (!view) throw new ApiError('unknown_model', `Unknown model "${selector.name}"; available: ${views.map((v) => v.name).join(', ')}`);
    return chooseVersion(view, selector, this.config.models.unavailableJobs, random);
  }

  /**
   * The models that have a description (some process loaded them once), each described by its
   * primary version, with every version's state: what REST and GraphQL list.
   */
  async served(): Promise<ServedModel[]> {
    return (await this.views()).flatMap((view) => {
      const serving = view.versions.filter((v) => v.state === 'serving' && view.descriptions.has(v.version));
      const primary = view.descriptions.get(primaryVersion(serving)?.version ?? '') ?? primaryVersion([...view.descriptions.values()]);
      if (!primary) return [];
      return [
        {
          name: view.name,
          version: primary.version,
          family: primary.family,
          input: primary.input,
          dynamicBatch: primary.dynamicBatch,
          maxBatchSize: primary.maxBatchSize,
          provider: primary.provider,
          requestedProviders: primary.requestedProviders,
          labels: primary.labels,
          workers: view.workers,
          updatedAt: primary.updatedAt,
          state: view.state,
          reason: view.reason,
          versions: view.versions,
        },
      ];
    });
  }

  /** Models live processes report that none could ever load (no description): broken, loading for the first time, or unloaded. */
  async unavailable(): Promise<UnavailableModel[]> {
    return (await this.views()).flatMap((view) =>
      view.descriptions.size > 0 || view.state === 'serving' ? [] : [{ name: view.name, state: view.state, reason: view.reason, versions: view.versions }],
    );
  }

  /** Every inference process's own view (live ones, and those stopped in the last minutes), read fresh. */
  async processes(): Promise<ModelProcessView[]> {
    const now = Date.now();
    return (await this.registry.heartbeats()).map((w) => ({ id: w.id, at: w.at, live: w.expiresAt >= now, models: w.models }));
  }
}

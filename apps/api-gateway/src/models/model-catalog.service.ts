import { ArgusStore, Cached } from '@argus/broker';
import type { ModelInfo, ServedModel } from '@argus/contracts';
import { Injectable } from '@nestjs/common';
import { ApiError } from '../errors/api-error';

const FRESH_MS = 1000;

/**
 * The models inference processes have published, cached for a second: every upload needs the
 * model's version (part of the cache key) and labels, and Redis need not be asked each time.
 */
@Injectable()
export class ModelCatalog {
  private cache: { at: number; models: ModelInfo[] } | undefined;
  private inflight: Promise<ModelInfo[]> | undefined;

  private readonly workers: Cached<Awaited<ReturnType<ArgusStore['liveWorkers']>>>;

  constructor(private readonly store: ArgusStore) {
    this.workers = new Cached(() => store.liveWorkers(), FRESH_MS);
  }

  /** Every published model. */
  async list(): Promise<ModelInfo[]> {
    if (this.cache && Date.now() - this.cache.at < FRESH_MS) return this.cache.models;
    this.inflight ??= this.store
      .listModels()
      .then((models) => {
        this.cache = { at: Date.now(), models };
        return models;
      })
      .finally(() => {
        this.inflight = undefined;
      });
    return this.inflight;
  }

  /** Inference processes serving `model` now (by heartbeat). */
  async liveWorkers(model: string): Promise<number> {
    return (await this.workers.get()).filter((w) => w.models.some((m) => m.name === model)).length;
  }

  /** The models served, each with the inference processes serving it now (by heartbeat): what REST and GraphQL list. */
  async served(): Promise<ServedModel[]> {
    const [models, workers] = await Promise.all([this.list(), this.workers.get()]);
    return models.map((m) => ({
      name: m.name,
      version: m.version,
      family: m.family,
      input: m.input,
      dynamicBatch: m.dynamicBatch,
      maxBatchSize: m.maxBatchSize,
      provider: m.provider,
      requestedProviders: m.requestedProviders,
      labels: m.labels,
      workers: workers.filter((w) => w.models.some((x) => x.name === m.name)).length,
      updatedAt: m.updatedAt,
    }));
  }

  /** The model called `name`; 503 before any worker has published, 422 for an unknown name. */
  async resolve(name: string): Promise<ModelInfo> {
    const models = await this.list();
    if (models.length === 0) {
      throw new ApiError('no_models', 'No inference worker has published its models yet; retry shortly', { 'Retry-After': '5' });
    }
    const model = models.find((m) => m.name === name);
    if (!model) throw new ApiError('unknown_model', `Unknown model "${name}"; available: ${models.map((m) => m.name).join(', ')}`);
    return model;
  }
}

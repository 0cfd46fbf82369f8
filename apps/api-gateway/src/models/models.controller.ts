import { ArgusStore } from '@argus/broker';
import { Controller, Get } from '@nestjs/common';
import { ModelCatalog } from './model-catalog.service';

/** What `GET /v1/models` returns for each model. */
export interface ModelView {
  name: string;
  version: string;
  family: string;
  input: { width: number; height: number };
  dynamicBatch: boolean;
  maxBatchSize: number;
  provider: string;
  requestedProviders: string[];
  classes: number;
  /** Inference processes serving this model now (by heartbeat). */
  workers: number;
  updatedAt: string;
}

@Controller('v1/models')
export class ModelsController {
  constructor(
    private readonly catalog: ModelCatalog,
    private readonly store: ArgusStore,
  ) {}

  /** The models served, with version, family, input size, batching and execution provider. */
  @Get()
  async list(): Promise<{ models: ModelView[] }> {
    const [models, workers] = await Promise.all([this.catalog.list(), this.store.liveWorkers()]);
    return {
      models: models.map((m) => ({
        name: m.name,
        version: m.version,
        family: m.family,
        input: m.input,
        dynamicBatch: m.dynamicBatch,
        maxBatchSize: m.maxBatchSize,
        provider: m.provider,
        requestedProviders: m.requestedProviders,
        classes: m.labels.length,
        workers: workers.filter((w) => w.models.some((x) => x.name === m.name)).length,
        updatedAt: m.updatedAt,
      })),
    };
  }
}

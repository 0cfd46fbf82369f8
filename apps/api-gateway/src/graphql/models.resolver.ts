import { ArgusStore } from '@argus/broker';
import { Query, Resolver } from '@nestjs/graphql';
import { ModelCatalog } from '../models/model-catalog.service';
import { ModelType } from './types';

@Resolver(() => ModelType)
export class ModelsResolver {
  constructor(
    private readonly catalog: ModelCatalog,
    private readonly store: ArgusStore,
  ) {}

  @Query(() => [ModelType], { name: 'models', description: 'The models served (REST: GET /v1/models), with their class labels.' })
  async models(): Promise<ModelType[]> {
    const [models, workers] = await Promise.all([this.catalog.list(), this.store.liveWorkers()]);
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
}

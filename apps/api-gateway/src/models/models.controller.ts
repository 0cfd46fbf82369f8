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
  constructor(private readonly catalog: ModelCatalog) {}

  /** The models served, with version, family, input size, batching and execution provider. */
  @Get()
  async list(): Promise<{ models: ModelView[] }> {
    const models = await this.catalog.served();
    return { models: models.map(({ labels, ...m }) => ({ ...m, classes: labels.length })) };
  }
}

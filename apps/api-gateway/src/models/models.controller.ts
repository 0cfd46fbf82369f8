import type { ModelSummary } from '@argus/contracts';
import { Controller, Get } from '@nestjs/common';
import { ModelCatalog } from './model-catalog.service';

@Controller('v1/models')
export class ModelsController {
  constructor(private readonly catalog: ModelCatalog) {}

  /** The models served, with version, family, input size, batching and execution provider. */
  @Get()
  async list(): Promise<{ models: ModelSummary[] }> {
    const models = await this.catalog.served();
    return { models: models.map(({ labels, ...m }) => ({ ...m, classes: labels.length })) };
  }
}

import type { ModelList } from '@argus/contracts';
import { Controller, Get } from '@nestjs/common';
import { ModelCatalog } from './model-catalog.service';

@Controller('v1/models')
export class ModelsController {
  constructor(private readonly catalog: ModelCatalog) {}

  /**
   * The models served, with version, family, input size, batching and execution provider, and
   * each version's weight and state; models no process could load are listed apart, with why.
   */
  @Get()
  async list(): Promise<ModelList> {
    const [models, unavailable] = await Promise.all([this.catalog.served(), this.catalog.unavailable()]);
    return { models: models.map(({ labels, ...m }) => ({ ...m, classes: labels.length })), unavailable };
  }
}

import { Query, Resolver } from '@nestjs/graphql';
import { ModelCatalog } from '../models/model-catalog.service';
import { ModelType } from './types';

@Resolver(() => ModelType)
export class ModelsResolver {
  constructor(private readonly catalog: ModelCatalog) {}

  @Query(() => [ModelType], { name: 'models', description: 'The models served (REST: GET /v1/models), with their class labels.' })
  models(): Promise<ModelType[]> {
    return this.catalog.served();
  }
}

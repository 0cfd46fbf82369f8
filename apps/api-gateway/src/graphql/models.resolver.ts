import { Query, Resolver } from '@nestjs/graphql';
import { ModelCatalog } from '../models/model-catalog.service';
import { ModelType, UnavailableModelType } from './types';

@Resolver(() => ModelType)
export class ModelsResolver {
  constructor(private readonly catalog: ModelCatalog) {}

  @Query(() => [ModelType], { name: 'models', description: 'The models served (REST: GET /v1/models), with their class labels and every version\'s weight and state.' })
  models(): Promise<ModelType[]> {
    return this.catalog.served();
  }

  @Query(() => [UnavailableModelType], { name: 'unavailableModels', description: 'Models the inference processes report but could never load, with why (REST: GET /v1/models, `unavailable`).' })
  unavailableModels(): Promise<UnavailableModelType[]> {
    return this.catalog.unavailable();
  }
}

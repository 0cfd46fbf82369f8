import { Module } from '@nestjs/common';
import { ModelCatalog } from './model-catalog.service';
import { ModelsController } from './models.controller';

/** The models served (REST), and the catalog every feature resolves a model name with. */
@Module({ controllers: [ModelsController], providers: [ModelCatalog], exports: [ModelCatalog] })
export class ModelsModule {}

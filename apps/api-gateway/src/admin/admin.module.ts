import { ARGUS_CONFIG, type ArgusConfig } from '@argus/config';
import { Inject, type MiddlewareConsumer, Module, type NestModule } from '@nestjs/common';
import { ModelsModule } from '../models/models.module';
import { adminAuth } from './admin-auth';
import { AdminModelsController } from './admin-models.controller';
import { BullBoardMount } from './bull-board';

/** The operators' surfaces, behind the admin's credentials: Bull Board, and the models API. */
@Module({ imports: [ModelsModule], controllers: [AdminModelsController], providers: [BullBoardMount] })
export class AdminModule implements NestModule {
  constructor(@Inject(ARGUS_CONFIG) private readonly config: ArgusConfig) {}

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(adminAuth(this.config, 'Argus admin')).forRoutes(AdminModelsController);
  }
}

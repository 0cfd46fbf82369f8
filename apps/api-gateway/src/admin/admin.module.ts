import { type MiddlewareConsumer, Module, type NestModule } from '@nestjs/common';
import { ModelsModule } from '../models/models.module';
import { AdminAuth } from './admin-auth';
import { AdminModelsController } from './admin-models.controller';
import { BullBoardMount } from './bull-board';

/** The operators' surfaces, behind the admin's credentials: Bull Board, and the models API. */
@Module({ imports: [ModelsModule], controllers: [AdminModelsController], providers: [AdminAuth, BullBoardMount] })
export class AdminModule implements NestModule {
  constructor(private readonly auth: AdminAuth) {}

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(this.auth.middleware('Argus admin')).forRoutes(AdminModelsController);
  }
}

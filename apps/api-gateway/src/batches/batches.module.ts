import { ARGUS_CONFIG, type ArgusConfig } from '@argus/config';
import { Inject, type MiddlewareConsumer, Module, type NestModule, RequestMethod } from '@nestjs/common';
import { MulterModule } from '@nestjs/platform-express';
import { memoryStorage } from 'multer';
import { AccessModule } from '../access/access.module';
import { DetectionsModule } from '../detections/detections.module';
import { ModelsModule } from '../models/models.module';
import { BatchesController, batchSizeGuard } from './batches.controller';
import { BatchesService } from './batches.service';

/** Batches over REST (submit, progress, results); the use case GraphQL shares. */
@Module({
  imports: [
    AccessModule,
    ModelsModule,
    DetectionsModule,
    MulterModule.registerAsync({
      inject: [ARGUS_CONFIG],
      useFactory: (c: ArgusConfig) => ({
        storage: memoryStorage(),
        // File names as browsers and the client package send them: UTF-8.
        defParamCharset: 'utf8',
        limits: { fileSize: c.limits.maxImageBytes, files: c.batches.maxImages, fields: c.batches.maxImages + 20, fieldSize: 16 * 1024, parts: 2 * c.batches.maxImages + 20 },
      }),
    }),
  ],
  controllers: [BatchesController],
  providers: [BatchesService],
  exports: [BatchesService],
})
export class BatchesModule implements NestModule {
  constructor(@Inject(ARGUS_CONFIG) private readonly config: ArgusConfig) {}

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(batchSizeGuard(this.config.batches.maxBytes)).forRoutes({ path: 'v1/batches', method: RequestMethod.POST });
  }
}

import { ARGUS_CONFIG, type ArgusConfig } from '@argus/config';
import { Module } from '@nestjs/common';
import { MulterModule } from '@nestjs/platform-express';
import { memoryStorage } from 'multer';
import { AccessModule } from '../access/access.module';
import { ModelsModule } from '../models/models.module';
import { AnnotatedController } from './annotated.controller';
import { CompletionWaiter } from './completion-waiter';
import { DetectionEventsController } from './detection-events.controller';
import { DetectionEvents } from './detection-events.service';
import { DetectionStatus } from './detection-status.service';
import { DetectionsController } from './detections.controller';
import { DetectionsService } from './detections.service';

/** Detections over REST: submit, status, live events, annotated images; the use cases GraphQL shares. */
@Module({
  imports: [
    AccessModule,
    ModelsModule,
    MulterModule.registerAsync({
      inject: [ARGUS_CONFIG],
      useFactory: (c: ArgusConfig) => ({
        storage: memoryStorage(),
        limits: { fileSize: c.limits.maxImageBytes, files: 1, fields: 20, fieldSize: 16 * 1024, parts: 24 },
      }),
    }),
  ],
  controllers: [DetectionsController, DetectionEventsController, AnnotatedController],
  providers: [CompletionWaiter, DetectionsService, DetectionStatus, DetectionEvents],
  exports: [DetectionsService, DetectionStatus, DetectionEvents],
})
export class DetectionsModule {}

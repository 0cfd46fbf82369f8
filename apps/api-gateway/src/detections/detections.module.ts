import { ARGUS_CONFIG, type ArgusConfig } from '@argus/config';
import { Module } from '@nestjs/common';
import { MulterModule } from '@nestjs/platform-express';
import { memoryStorage } from 'multer';
import { AccessModule } from '../access/access.module';
import { ModelsModule } from '../models/models.module';
import { AnnotatedController } from './annotated.controller';
import { CompletionWaiter } from './completion-waiter';
import { DetectionDeletion } from './deletion.service';
import { DetectionList } from './detection-list.service';
import { ImageSources } from './image-sources.service';
import { DetectionEventsController } from './detection-events.controller';
import { DetectionEvents } from './detection-events.service';
import { DetectionStatus } from './detection-status.service';
import { DetectionsController } from './detections.controller';
import { DetectionsService } from './detections.service';

/** Detections over REST: submit (an upload or a URL), list, status, delete, live events, annotated images; the use cases GraphQL and batches share. */
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
  providers: [CompletionWaiter, DetectionsService, DetectionStatus, DetectionEvents, DetectionList, DetectionDeletion, ImageSources],
  exports: [DetectionsService, DetectionStatus, DetectionEvents, DetectionList, DetectionDeletion, ImageSources],
})
export class DetectionsModule {}

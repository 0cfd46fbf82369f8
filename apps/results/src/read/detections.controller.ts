import { type DetectionListQuery, DetectionListQuerySchema, type GetDetectionRequest, ResultsRpc } from '@argus/contracts';
import { Controller } from '@nestjs/common';
import { MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import { DatabaseWatch } from '../database/database-watch.service';
import { DetectionsService } from './detections.service';

/** The gateway's reads, over @nestjs/microservices. */
@Controller()
export class DetectionsController {
  constructor(
    private readonly detections: DetectionsService,
    private readonly database: DatabaseWatch,
  ) {}

  @MessagePattern(ResultsRpc.GetDetection)
  get(@Payload() request: GetDetectionRequest) {
    return this.detections.get(String(request?.id ?? ''));
  }

  @MessagePattern(ResultsRpc.ListDetections)
  list(@Payload() request: unknown) {
    const parsed = DetectionListQuerySchema.safeParse(request);
    if (!parsed.success) throw new RpcException({ code: 'validation_failed', message: parsed.error.message });
    return this.detections.list(parsed.data satisfies DetectionListQuery);
  }

  @MessagePattern(ResultsRpc.Health)
  health() {
    return this.database.status();
  }
}

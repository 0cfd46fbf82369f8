import { DetectionListQuerySchema, ReadScopeSchema, ResultsRpc } from '@argus/contracts';
import { Controller } from '@nestjs/common';
import { MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import { z } from 'zod';
import { DatabaseWatch } from '../database/database-watch.service';
import { DetectionsService } from './detections.service';

const GetSchema = z.object({ id: z.string(), scope: ReadScopeSchema });
const ListSchema = z.object({ query: DetectionListQuerySchema, scope: ReadScopeSchema });

/** The gateway's reads, over @nestjs/microservices. */
@Controller()
export class DetectionsController {
  constructor(
    private readonly detections: DetectionsService,
    private readonly database: DatabaseWatch,
  ) {}

  /** A read names whose data it may see; one that does not is refused rather than read unscoped. */
  @MessagePattern(ResultsRpc.GetDetection)
  get(@Payload() request: unknown) {
    const parsed = GetSchema.safeParse(request);
    if (!parsed.success) throw new RpcException({ code: 'validation_failed', message: parsed.error.message });
    return this.detections.get(parsed.data.id, parsed.data.scope);
  }

  @MessagePattern(ResultsRpc.ListDetections)
  list(@Payload() request: unknown) {
    const parsed = ListSchema.safeParse(request);
    if (!parsed.success) throw new RpcException({ code: 'validation_failed', message: parsed.error.message });
    return this.detections.list(parsed.data.query, parsed.data.scope);
  }

  @MessagePattern(ResultsRpc.Health)
  health() {
    return this.database.status();
  }
}

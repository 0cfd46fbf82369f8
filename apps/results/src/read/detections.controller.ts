import { DetectionListQuerySchema, type EraseDetectionReply, ReadScopeSchema, ResultsRpc } from '@argus/contracts';
import { Controller } from '@nestjs/common';
import { MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import { z } from 'zod';
import { DatabaseWatch } from '../database/database-watch.service';
import { DetectionsService, InvalidCursorError } from './detections.service';

const GetSchema = z.object({ id: z.string(), scope: ReadScopeSchema });
const ListSchema = z.object({ query: DetectionListQuerySchema, scope: ReadScopeSchema });

/** A request that does not fit its schema: refused, never read unscoped. */
export function parsed<T>(schema: z.ZodType<T>, request: unknown): T {
  const result = schema.safeParse(request);
  if (!result.success) throw new RpcException({ code: 'validation_failed', message: result.error.message });
  return result.data;
}

/** The gateway's reads (and erasures), over @nestjs/microservices. Each names whose data it may touch. */
@Controller()
export class DetectionsController {
  constructor(
    private readonly detections: DetectionsService,
    private readonly database: DatabaseWatch,
  ) {}

  @MessagePattern(ResultsRpc.GetDetection)
  get(@Payload() request: unknown) {
    const { id, scope } = parsed(GetSchema, request);
    return this.detections.get(id, scope);
  }

  @MessagePattern(ResultsRpc.ListDetections)
  async list(@Payload() request: unknown) {
    const { query, scope } = parsed(ListSchema, request);
    try {
      return await this.detections.list(query, scope);
    } catch (error) {
      if (error instanceof InvalidCursorError) throw new RpcException({ code: 'validation_failed', message: error.message });
      throw error;
    }
  }

  @MessagePattern(ResultsRpc.EraseDetection)
  async erase(@Payload() request: unknown): Promise<EraseDetectionReply> {
    const { id, scope } = parsed(GetSchema, request);
    return { erased: await this.detections.erase(id, scope) };
  }

  @MessagePattern(ResultsRpc.Health)
  health() {
    return this.database.status();
  }
}

import { MAX_LIST_LIMIT, ReadScopeSchema, ResultsRpc } from '@argus/contracts';
import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { z } from 'zod';
import { parsed } from '../read/detections.controller';
import { BatchesService } from './batches.service';

const GetSchema = z.object({ id: z.string(), scope: ReadScopeSchema });
const ResultsSchema = GetSchema.extend({ offset: z.number().int().min(0), limit: z.number().int().min(1).max(MAX_LIST_LIMIT) });

/** The gateway's reads of finished batches, over @nestjs/microservices. */
@Controller()
export class BatchesController {
  constructor(private readonly batches: BatchesService) {}

  @MessagePattern(ResultsRpc.GetBatch)
  get(@Payload() request: unknown) {
    const { id, scope } = parsed(GetSchema, request);
    return this.batches.get(id, scope);
  }

  @MessagePattern(ResultsRpc.BatchResults)
  results(@Payload() request: unknown) {
    const { id, scope, offset, limit } = parsed(ResultsSchema, request);
    return this.batches.results(id, scope, offset, limit);
  }
}

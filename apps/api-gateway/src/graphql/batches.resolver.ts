import { type BatchItemResult, type BatchView } from '@argus/contracts';
import { Args, Context, ID, Int, Mutation, Query, Resolver } from '@nestjs/graphql';
import { BatchesService } from '../batches/batches.service';
import { idempotencyKeyOf } from '../detections/detections.controller';
import { submitterOf } from '../detections/detections.service';
import { parseBatchFields } from '../detections/submit-params';
import { ApiError } from '../errors/api-error';
import { readScopeOf } from '../http/request-context';
import { callerOf, type GraphqlContext, MAX_PAGE, optionsToFields } from './detections.resolver';
import { BatchItemResultType, BatchOptionsInput, BatchType } from './types';
import { GraphQLUpload, type UploadedFile } from './upload.scalar';

@Resolver(() => BatchType)
export class BatchesResolver {
  constructor(private readonly batches: BatchesService) {}

  @Mutation(() => BatchType, {
    name: 'submitBatch',
    description:
      'Submits several photos at once, as Uploads (GraphQL multipart request) and/or image URLs, with one set of options (REST: POST /v1/batches). ' +
      'Every image is checked before anything is accepted; each becomes a detection. Follow it with `batch`, read it with `batchResults`.',
  })
  async submitBatch(
    @Args('images', { type: () => [GraphQLUpload], nullable: true }) images: UploadedFile[] | null,
    @Args('urls', { type: () => [String], nullable: true, description: 'Image URLs (http or https), fetched by Argus.' }) urls: string[] | null,
    @Args('options', { type: () => BatchOptionsInput, nullable: true }) options: BatchOptionsInput | null,
    @Args('idempotencyKey', { type: () => String, nullable: true, description: 'As REST\'s Idempotency-Key header.' }) idempotencyKey: string | null,
    @Context() context: GraphqlContext,
  ): Promise<BatchView> {
    const { view } = await this.batches.submit({
      files: (images ?? []).map((f, index) => ({ name: f.filename || `image-${index + 1}`, bytes: f.buffer })),
      urls: urls ?? [],
      fields: parseBatchFields(optionsToFields(options)),
      ...submitterOf(callerOf(context), idempotencyKeyOf(idempotencyKey ?? undefined)),
    });
    return view;
  }

  @Query(() => BatchType, { name: 'batch', description: 'A batch\'s progress (REST: GET /v1/batches/{id}).' })
  batch(@Args('id', { type: () => ID }) id: string, @Context() context: GraphqlContext): Promise<BatchView> {
    return this.batches.get(id, readScopeOf(callerOf(context)));
  }

  @Query(() => [BatchItemResultType], {
    name: 'batchResults',
    description: 'A finished batch\'s images and their detections, in the batch\'s order, `first` from `offset` (REST: GET /v1/batches/{id}/results); not_ready while images run.',
  })
  batchResults(
    @Args('id', { type: () => ID }) id: string,
    @Args('offset', { type: () => Int, defaultValue: 0 }) offset: number,
    @Args('first', { type: () => Int, defaultValue: MAX_PAGE, description: `At most ${MAX_PAGE}.` }) first: number,
    @Context() context: GraphqlContext,
  ): Promise<BatchItemResult[]> {
    if (!Number.isInteger(offset) || offset < 0 || !Number.isInteger(first) || first < 1 || first > MAX_PAGE) {
      throw new ApiError('validation_failed', `offset must be 0 or more and first 1 to ${MAX_PAGE}`);
    }
    return this.batches.resultsPage(id, readScopeOf(callerOf(context)), offset, first);
  }
}

import { ARGUS_CONFIG, type ArgusConfig } from '@argus/config';
import { type DetectionListQuery, DetectionListQuerySchema, type DetectionStatus as Status, type DetectionView, type Priority } from '@argus/contracts';
import { Inject, Logger } from '@nestjs/common';
import { Args, Context, ID, Int, Mutation, Query, Resolver, Subscription } from '@nestjs/graphql';
import type { Request } from 'express';
import { DetectionEvents, type DetectionWatch } from '../detections/detection-events.service';
import { DetectionStatus } from '../detections/detection-status.service';
import { DetectionsService } from '../detections/detections.service';
import { parseSubmitFields } from '../detections/submit-params';
import { ApiError } from '../errors/api-error';
import { type ArgusRequestContext, contextOf, readScopeOf } from '../http/request-context';
import { ResultsClient } from '../results-client/results.client';
import { submittedImage } from './image-input';
import {
  DetectionEventType,
  DetectionOptionsInput,
  DetectionPageType,
  DetectionStatusEnum,
  DetectionType,
  PriorityEnum,
} from './types';
import { GraphQLUpload, type UploadedFile } from './upload.scalar';

/** Largest `first` of `detections` (apps/results pages at most 100). */
export const MAX_PAGE = 100;

/** The GraphQL context: Express's request for HTTP operations; the socket's caller for subscriptions. */
export interface GraphqlContext {
  req?: Request;
  ws?: ArgusRequestContext;
}

/** Who is calling: the HTTP request's authenticated client, or the socket's. */
export function callerOf(context: GraphqlContext): ArgusRequestContext {
  if (context.req) return contextOf(context.req);
  if (context.ws) return context.ws;
  throw new ApiError('unauthorized', 'An API key is required');
}

/** Turns the GraphQL options into the REST form fields, so both go through the same checks. */
export function optionsToFields(options: DetectionOptionsInput | null | undefined): Record<string, unknown> {
  if (!options) return {};
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if (value === null || value === undefined) continue;
    if (key === 'classes') fields[key] = (value as string[]).join(',');
    else if (key === 'agnostic') fields[key] = value ? 'true' : 'false';
    else fields[key] = value;
  }
  return fields;
}

/** A GraphQL event per status change; the final one carries the detection. */
export async function* graphqlEvents(watch: DetectionWatch): AsyncGenerator<DetectionEventType> {
  let final: { id: string; status: Status; at: string } | undefined;
  try {
    for await (const event of watch) {
      if (event.type === 'status') {
        if (event.status === 'completed' || event.status === 'failed') final = event;
        else yield { id: event.id, status: event.status, at: event.at, detection: null };
      } else {
        const detection: DetectionView = event.detection;
        yield { id: detection.id, status: detection.status, at: final?.at ?? new Date().toISOString(), detection };
        return;
      }
    }
  } finally {
    watch.close();
  }
}

@Resolver(() => DetectionType)
export class DetectionsResolver {
  private readonly logger = new Logger(DetectionsResolver.name);

  constructor(
    private readonly detections: DetectionsService,
    private readonly status: DetectionStatus,
    private readonly results: ResultsClient,
    private readonly events: DetectionEvents,
    @Inject(ARGUS_CONFIG) private readonly config: ArgusConfig,
  ) {}

  @Query(() => DetectionType, { name: 'detection', description: 'A detection at any stage (REST: GET /v1/detections/{id}).' })
  detection(@Args('id', { type: () => ID }) id: string, @Context() context: GraphqlContext): Promise<DetectionView> {
    return this.status.get(id, readScopeOf(callerOf(context)));
  }

  @Query(() => DetectionPageType, {
    name: 'detections',
    description: 'Finished detections (as persisted by apps/results), newest first, with filters; page with `after` = the last page\'s `nextCursor`.',
  })
  async list(
    @Args('status', { type: () => DetectionStatusEnum, nullable: true }) status: Status | null,
    @Args('model', { type: () => String, nullable: true }) model: string | null,
    @Args('priority', { type: () => PriorityEnum, nullable: true }) priority: Priority | null,
    @Args('from', { type: () => String, nullable: true, description: 'ISO-8601 date-time: created at or after.' }) from: string | null,
    @Args('to', { type: () => String, nullable: true, description: 'ISO-8601 date-time: created before.' }) to: string | null,
    @Args('after', { type: () => String, nullable: true }) after: string | null,
    @Args('first', { type: () => Int, defaultValue: 20, description: `Page size, 1 to ${MAX_PAGE}.` }) first: number,
    @Context() context: GraphqlContext,
  ): Promise<DetectionPageType> {
    const given = { status, model, priority, from, to, after, limit: first };
    const parsed = DetectionListQuerySchema.safeParse(Object.fromEntries(Object.entries(given).filter(([, v]) => v !== null && v !== undefined)));
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `${i.path.join('.') === 'limit' ? 'first' : i.path.join('.')}: ${i.message}`).join('; ');
      throw new ApiError('validation_failed', `Invalid detections query: ${problems}`);
    }
    let page: Awaited<ReturnType<ResultsClient['list']>>;
    try {
      page = await this.results.list(parsed.data satisfies DetectionListQuery, readScopeOf(callerOf(context)));
    } catch (error) {
      const code = (error as { code?: unknown } | null)?.code;
      if (code === 'validation_failed') throw new ApiError('validation_failed', String((error as { message?: unknown }).message ?? 'invalid query'));
      this.logger.warn({ msg: 'apps/results did not answer a list', error: error instanceof Error ? error.message : String(error) });
      throw new ApiError('unavailable', 'Results are unavailable right now; retry shortly');
    }
    return { items: page.items, nextCursor: page.nextCursor, hasNextPage: page.nextCursor !== null };
  }

  @Mutation(() => DetectionType, {
    name: 'submitDetection',
    description:
      'Submits a photo, as an Upload (GraphQL multipart request) or as base64 text; the same checks and options as REST POST /v1/detections. ' +
      'Returns the detection: completed when done within options.wait (or cached), queued otherwise, failed with its error when it failed while waiting.',
  })
  async submit(
    @Args('image', { type: () => GraphQLUpload, nullable: true }) image: UploadedFile | null,
    @Args('imageBase64', { type: () => String, nullable: true, description: 'The photo as base64 (a data: URL prefix is allowed).' }) imageBase64: string | null,
    @Args('options', { type: () => DetectionOptionsInput, nullable: true }) options: DetectionOptionsInput | null,
    @Context() context: GraphqlContext,
  ): Promise<DetectionView> {
    const bytes = submittedImage(image, imageBase64, this.config.limits.maxImageBytes);
    const fields = parseSubmitFields(optionsToFields(options));
    const { correlationId, clientId, priorities } = callerOf(context);
    const reply = await this.detections.submit({ image: bytes, fields, correlationId, clientId, allowedPriorities: priorities ?? [] });
    return reply.view;
  }

  @Subscription(() => DetectionEventType, {
    name: 'detectionEvents',
    description: 'A detection\'s status changes until it ends (over graphql-ws at /graphql); the last event carries the detection.',
    resolve: (payload: DetectionEventType) => payload,
  })
  async detectionEvents(@Args('id', { type: () => ID }) id: string, @Context() context: GraphqlContext): Promise<AsyncIterator<DetectionEventType>> {
    return graphqlEvents(await this.events.open(id, readScopeOf(callerOf(context))));
  }
}

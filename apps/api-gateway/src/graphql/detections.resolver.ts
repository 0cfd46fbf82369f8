import { ARGUS_CONFIG, type ArgusConfig } from '@argus/config';
import { type DetectionStatus as Status, type DetectionView, MAX_LIST_LIMIT, type Priority } from '@argus/contracts';
import { Inject } from '@nestjs/common';
import { Args, Context, ID, Int, Mutation, Query, Resolver, Subscription } from '@nestjs/graphql';
import type { Request } from 'express';
import { DetectionDeletion } from '../detections/deletion.service';
import { DetectionEvents, type DetectionWatch } from '../detections/detection-events.service';
import { DetectionList, parseListQuery } from '../detections/detection-list.service';
import { DetectionStatus } from '../detections/detection-status.service';
import { idempotencyKeyOf } from '../detections/detections.controller';
import { DetectionsService, type ImageInput, submitterOf } from '../detections/detections.service';
import { parseSubmitFields } from '../detections/submit-params';
import { ApiError } from '../errors/api-error';
import { type ArgusRequestContext, contextOf, readScopeOf } from '../http/request-context';
import { submittedImage } from './image-input';
import {
  DeletionOutcomeEnum,
  DetectionDeletionType,
  DetectionEventType,
  DetectionOptionsInput,
  DetectionPageType,
  DetectionStatusEnum,
  DetectionType,
  PriorityEnum,
} from './types';
import { GraphQLUpload, type UploadedFile } from './upload.scalar';

/** Largest `first` of `detections` (apps/results pages at most 100). */
export const MAX_PAGE = MAX_LIST_LIMIT;

/** The GraphQL context: Express's request for HTTP operations; the socket's caller for subscriptions. */
export interface GraphqlContext {
  req?: Request;
  ws?: ArgusRequestContext;
}

/** How the GraphQL arguments of `detections` are called in the list query's schema. */
const LIST_NAMES: Readonly<Record<string, string>> = { cursor: 'after', limit: 'first' };

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
        if (event.status === 'completed' || event.status === 'failed' || event.status === 'canceled') final = event;
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
  constructor(
    private readonly detections: DetectionsService,
    private readonly status: DetectionStatus,
    private readonly listing: DetectionList,
    private readonly deletion: DetectionDeletion,
    private readonly events: DetectionEvents,
    @Inject(ARGUS_CONFIG) private readonly config: ArgusConfig,
  ) {}

  @Query(() => DetectionType, { name: 'detection', description: 'A detection at any stage (REST: GET /v1/detections/{id}).' })
  detection(@Args('id', { type: () => ID }) id: string, @Context() context: GraphqlContext): Promise<DetectionView> {
    return this.status.get(id, readScopeOf(callerOf(context)));
  }

  @Query(() => DetectionPageType, {
    name: 'detections',
    description:
      "The caller's detections that have ended (completed, failed, canceled), newest first, with filters (REST: GET /v1/detections); " +
      "page with `after` = the last page's `nextCursor`.",
  })
  async list(
    @Args('status', { type: () => DetectionStatusEnum, nullable: true }) status: Status | null,
    @Args('model', { type: () => String, nullable: true }) model: string | null,
    @Args('priority', { type: () => PriorityEnum, nullable: true }) priority: Priority | null,
    @Args('since', { type: () => String, nullable: true, description: 'ISO-8601: created at or after.' }) since: string | null,
    @Args('until', { type: () => String, nullable: true, description: 'ISO-8601: created before.' }) until: string | null,
    @Args('from', { type: () => String, nullable: true, deprecationReason: 'Use `since`.' }) from: string | null,
    @Args('to', { type: () => String, nullable: true, deprecationReason: 'Use `until`.' }) to: string | null,
    @Args('after', { type: () => String, nullable: true, description: "The previous page's `nextCursor` (REST: `cursor`)." }) after: string | null,
    @Args('first', { type: () => Int, defaultValue: 20, description: `Page size, 1 to ${MAX_PAGE} (REST: \`limit\`).` }) first: number,
    @Context() context: GraphqlContext,
  ): Promise<DetectionPageType> {
    const query = parseListQuery({ status, model, priority, since: since ?? from, until: until ?? to, cursor: after, limit: first }, LIST_NAMES);
    const page = await this.listing.page(query, readScopeOf(callerOf(context)));
    return { items: page.items, nextCursor: page.nextCursor, hasNextPage: page.nextCursor !== null };
  }

  @Mutation(() => DetectionType, {
    name: 'submitDetection',
    description:
      'Submits a photo, as an Upload (GraphQL multipart request), as base64 text, or as an image URL Argus fetches; the same checks and options as REST ' +
      'POST /v1/detections. Returns the detection: completed when done within options.wait (or cached), queued otherwise, failed with its error when it failed while waiting.',
  })
  async submit(
    @Args('image', { type: () => GraphQLUpload, nullable: true }) image: UploadedFile | null,
    @Args('imageBase64', { type: () => String, nullable: true, description: 'The photo as base64 (a data: URL prefix is allowed).' }) imageBase64: string | null,
    @Args('imageUrl', { type: () => String, nullable: true, description: 'An http(s) URL of the photo, fetched by Argus (REST: `url`).' }) imageUrl: string | null,
    @Args('options', { type: () => DetectionOptionsInput, nullable: true }) options: DetectionOptionsInput | null,
    @Args('idempotencyKey', { type: () => String, nullable: true, description: 'As REST\'s Idempotency-Key header.' }) idempotencyKey: string | null,
    @Context() context: GraphqlContext,
  ): Promise<DetectionView> {
    let input: ImageInput;
    if (imageUrl !== null && imageUrl !== undefined) {
      if (image || (imageBase64 !== null && imageBase64 !== undefined)) throw new ApiError('validation_failed', 'Send the image once: `image`, `imageBase64` or `imageUrl`');
      input = { url: imageUrl };
    } else {
      input = { bytes: submittedImage(image, imageBase64, this.config.limits.maxImageBytes) };
    }
    const reply = await this.detections.submit({ image: input, fields: parseSubmitFields(optionsToFields(options)), ...submitterOf(callerOf(context), idempotencyKeyOf(idempotencyKey ?? undefined)) });
    return reply.view;
  }

  @Mutation(() => DetectionDeletionType, {
    name: 'deleteDetection',
    description:
      'Cancels a detection still waiting (outcome canceled, with its view) or erases a finished one (outcome erased: its row, cached result and photo are gone); ' +
      'a running one is refused with not_ready (REST: DELETE /v1/detections/{id}).',
  })
  async deleteDetection(@Args('id', { type: () => ID }) id: string, @Context() context: GraphqlContext): Promise<DetectionDeletionType> {
    const done = await this.deletion.delete(id, readScopeOf(callerOf(context)));
    return done.outcome === 'erased' ? { outcome: DeletionOutcomeEnum.erased, detection: null } : { outcome: DeletionOutcomeEnum.canceled, detection: done.view };
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

import { z } from 'zod';
import { DetectionSchema, ImageInfoSchema, ModelRefSchema, TimingsSchema } from './detection';
import { ErrorInfoSchema } from './errors';
import { PrioritySchema } from './priority';

/** Longest deadline a client may set (a day): beyond that the image bytes may have expired anyway. */
export const MAX_DEADLINE_MS = 86_400_000;

export const DETECTION_STATUSES = ['queued', 'active', 'completed', 'failed'] as const;
export const DetectionStatusSchema = z.enum(DETECTION_STATUSES);
export type DetectionStatus = z.infer<typeof DetectionStatusSchema>;

/** A detection request as clients see it (REST `GET /v1/detections/:id`, GraphQL `detection`). */
export const DetectionViewSchema = z.object({
  id: z.string(),
  status: DetectionStatusSchema,
  priority: PrioritySchema,
  model: ModelRefSchema,
  image: ImageInfoSchema,
  params: z.object({
    confidence: z.number(),
    iou: z.number(),
    classes: z.array(z.string()).nullable(),
    maxDetections: z.number(),
    agnostic: z.boolean(),
  }),
  detections: z.array(DetectionSchema),
  timings: TimingsSchema,
  cached: z.boolean(),
  error: ErrorInfoSchema.nullable(),
  provider: z.string().nullable(),
  correlationId: z.string().nullable(),
  createdAt: z.string(),
  completedAt: z.string().nullable(),
  /** Something the client should know about where the request stands (e.g. no worker serves its model yet). */
  note: z.string().optional(),
});
export type DetectionView = z.infer<typeof DetectionViewSchema>;

/** Filters and cursor for listing persisted detections. */
export const DetectionListQuerySchema = z.object({
  status: DetectionStatusSchema.optional(),
  model: z.string().optional(),
  priority: PrioritySchema.optional(),
  from: z.string().datetime().optional(),
  to: z.string().datetime().optional(),
  after: z.string().optional(),
  limit: z.number().int().min(1).max(100).default(20),
});
export type DetectionListQuery = z.infer<typeof DetectionListQuerySchema>;

export interface DetectionPage {
  items: DetectionView[];
  /** Pass as `after` to get the next page; null on the last page. */
  nextCursor: string | null;
}

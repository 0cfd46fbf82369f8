import { z } from 'zod';
import { DetectionSchema, ImageInfoSchema, ModelRefSchema, TimingsSchema } from './detection';
import { ErrorInfoSchema } from './errors';
import { PrioritySchema } from './priority';

/** Longest deadline a client may set (a day): beyond that the image bytes may have expired anyway. */
export const MAX_DEADLINE_MS = 86_400_000;

/** queued -> active -> completed or failed; a detection still waiting can be canceled instead. */
export const DETECTION_STATUSES = ['queued', 'active', 'completed', 'failed', 'canceled'] as const;
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

/** Largest page of a detection list. */
export const MAX_LIST_LIMIT = 100;

/** Whether the YYYY-MM-DD at the start is a day of the calendar (Date.parse rolls 02-30 over to March). */
function realDay(text: string): boolean {
  const [y, m, d] = text.slice(0, 10).split('-').map(Number) as [number, number, number];
  const day = new Date(Date.UTC(y, m - 1, d));
  return day.getUTCFullYear() === y && day.getUTCMonth() === m - 1 && day.getUTCDate() === d;
}

/** An ISO-8601 date-time with a zone (`2025-01-01T12:00:00Z`, `...+02:00`) or a UTC date (`2025-01-01`). */
const instant = z
  .string()
  .trim()
  .regex(/^\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:[Zz]|[+-]\d{2}:?\d{2}))?$/, 'an ISO-8601 date-time with a zone (2025-01-01T12:00:00Z) or a date')
  .refine((v) => !Number.isNaN(Date.parse(v)) && realDay(v), 'not a real date')
  .transform((v) => new Date(v).toISOString());

/**
 * Filters and cursor for listing a client's finished detections, newest first: the one schema of
 * REST's query string (`GET /v1/detections?limit=&cursor=&status=&model=&since=`), GraphQL's
 * `detections` arguments and apps/results' list request. Unknown names are refused.
 */
export const DetectionListQuerySchema = z
  .object({
    status: DetectionStatusSchema.optional(),
    model: z.string().trim().min(1).max(100).optional(),
    priority: PrioritySchema.optional(),
    /** Created at or after (ISO-8601). */
    since: instant.optional(),
    /** Created before (ISO-8601). */
    until: instant.optional(),
    /** The previous page's `nextCursor`. */
    cursor: z.string().min(1).max(200).optional(),
    limit: z.coerce.number().int().min(1).max(MAX_LIST_LIMIT).default(20),
  })
  .strict();
export type DetectionListQuery = z.infer<typeof DetectionListQuerySchema>;

/** One page of a detection list. */
export interface DetectionPage {
  items: DetectionView[];
  /** Pass as `cursor` to get the next page; null on the last page. */
  nextCursor: string | null;
}

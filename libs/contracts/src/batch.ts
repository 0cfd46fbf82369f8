import { z } from 'zod';
import { type DetectionView, DetectionViewSchema } from './api';
import { ImageInfoSchema } from './detection';

/** Where a batch stands: queued (no image ended yet), active (some ended), completed (every image ended). */
export const BATCH_STATUSES = ['queued', 'active', 'completed'] as const;
export const BatchStatusSchema = z.enum(BATCH_STATUSES);
export type BatchStatus = z.infer<typeof BatchStatusSchema>;

/** One image of a batch: its detection's id, and the image's name (the file name, or the URL). */
export const BatchItemSchema = z.object({ id: z.string(), image: z.string() });
export type BatchItem = z.infer<typeof BatchItemSchema>;

/**
 * A batch as clients see it (`POST /v1/batches`, `GET /v1/batches/:id`, the `batch.completed`
 * webhook). `failed` counts the images that ended without boxes: failed or canceled.
 */
export const BatchViewSchema = z.object({
  id: z.string(),
  status: BatchStatusSchema,
  total: z.number().int().nonnegative(),
  completed: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  items: z.array(BatchItemSchema),
  createdAt: z.string(),
  completedAt: z.string().nullable(),
});
export type BatchView = z.infer<typeof BatchViewSchema>;

/**
 * One line of a batch's JSON Lines results: the item's detection view with `image` the name of
 * the image it came from (the file name, or the URL); the view's image facts move to `imageInfo`.
 */
export const BatchResultSchema = DetectionViewSchema.extend({ image: z.string(), imageInfo: ImageInfoSchema });
export type BatchResult = z.infer<typeof BatchResultSchema>;

/** An item of a finished batch as apps/results reads it: the image's name and its detection. */
export interface BatchItemResult {
  image: string;
  detection: DetectionView;
}

/** The JSON Lines form of an item. */
export function batchResult(item: BatchItemResult): BatchResult {
  return { ...item.detection, image: item.image, imageInfo: item.detection.image };
}

/** The formats of `GET /v1/batches/:id/results`. */
export const BATCH_RESULT_FORMATS = ['jsonl', 'csv', 'coco'] as const;
export type BatchResultFormat = (typeof BATCH_RESULT_FORMATS)[number];

/** A batch's parent job (queue `batches`): who owns it, its items, where its webhook goes. */
export const BatchJobSchema = z.object({
  batchId: z.string(),
  /** The client that submitted it (reads are scoped to it). */
  clientId: z.string().nullable(),
  items: z.array(BatchItemSchema).min(1),
  callbackUrl: z.string().url().optional(),
  correlationId: z.string(),
  createdAt: z.string(),
});
export type BatchJob = z.infer<typeof BatchJobSchema>;

/** A batch item's job (queue `batches`, a child of the batch's job): the request it waits for. */
export const BatchItemJobSchema = z.object({ batchId: z.string(), requestId: z.string() });
export type BatchItemJob = z.infer<typeof BatchItemJobSchema>;

/** How an item ended, as its job returns it (the batch's counts are made of these). */
export const BatchItemEndSchema = z.object({
  requestId: z.string(),
  status: z.enum(['completed', 'failed', 'canceled']),
});
export type BatchItemEnd = z.infer<typeof BatchItemEndSchema>;

/** A batch's counts from how its items ended: completed, and failed (failed or canceled). */
export function batchCounts(ends: readonly Pick<BatchItemEnd, 'status'>[]): { completed: number; failed: number } {
  const completed = ends.filter((e) => e.status === 'completed').length;
  return { completed, failed: ends.length - completed };
}

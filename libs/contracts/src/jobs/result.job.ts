import { z } from 'zod';
import { ErrorInfoSchema } from '../errors';
import { InferenceResultSchema } from '../detection';

/**
 * Messages on the results stream (ADR 0011). apps/results turns each into rows, one per request:
 * - completed: inference finished for a work key; every request attached to it gets the result;
 * - failed: the work failed for good; every attached request is persisted as failed with the reason;
 * - cached: one request was answered from the cache at the gateway.
 */
export const CompletedResultJobSchema = z.object({
  kind: z.literal('completed'),
  workKey: z.string(),
  jobId: z.string(),
  result: InferenceResultSchema,
  attempts: z.number().int(),
});
export const FailedResultJobSchema = z.object({
  kind: z.literal('failed'),
  workKey: z.string(),
  jobId: z.string(),
  error: ErrorInfoSchema,
  attempts: z.number().int(),
  failedAt: z.string(),
});
export const CachedResultJobSchema = z.object({
  kind: z.literal('cached'),
  workKey: z.string(),
  requestId: z.string(),
  /** The cached outcome: a result, or a remembered failure (a corrupt image sent again). */
  result: InferenceResultSchema.optional(),
  error: ErrorInfoSchema.optional(),
});
export const ResultJobSchema = z.discriminatedUnion('kind', [
  CompletedResultJobSchema,
  FailedResultJobSchema,
  CachedResultJobSchema,
]);
export type CompletedResultJob = z.infer<typeof CompletedResultJobSchema>;
export type FailedResultJob = z.infer<typeof FailedResultJobSchema>;
export type CachedResultJob = z.infer<typeof CachedResultJobSchema>;
export type ResultJob = z.infer<typeof ResultJobSchema>;

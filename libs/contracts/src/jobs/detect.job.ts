import { z } from 'zod';
import { DetectParamsSchema, ModelRefSchema } from '../detection';
import { PrioritySchema } from '../priority';

/**
 * One piece of detection work. It carries keys, never image bytes: the bytes wait in Redis under
 * `imageKey` (see @argus/broker). `workKey` identifies the work (image hash + model version +
 * parameters); requests asking for the same work share one job and one cache entry.
 */
export const DetectJobSchema = z.object({
  workKey: z.string().regex(/^[0-9a-f]{64}$/),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  model: ModelRefSchema,
  /**
   * The client asked for this version. A worker that no longer serves it fails a pinned job
   * (model_unavailable) and runs an unpinned one on the model's primary version instead.
   */
  pinned: z.boolean().optional(),
  params: DetectParamsSchema,
  priority: PrioritySchema,
  /** The request that created the job; other requests may attach to it. */
  requestId: z.string(),
  correlationId: z.string(),
  enqueuedAt: z.number(),
  /** Epoch ms after which the job fails with deadline_exceeded instead of running. */
  deadline: z.number().optional(),
});
export type DetectJob = z.infer<typeof DetectJobSchema>;

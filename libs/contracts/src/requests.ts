import { z } from 'zod';
import { DetectParamsSchema, ModelRefSchema } from './detection';
import { PrioritySchema } from './priority';

/**
 * What the gateway records about an accepted request (Redis, until apps/results persists it).
 * apps/results reads it to build the row, so a request is never persisted without its metadata.
 */
export const RequestRecordSchema = z.object({
  id: z.string(),
  workKey: z.string(),
  jobId: z.string().optional(),
  sha256: z.string(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  bytes: z.number().int().nonnegative(),
  model: ModelRefSchema,
  /** The client asked for this version (`model=name@version`); otherwise the gateway picked it by the traffic weights. */
  pinned: z.boolean().optional(),
  params: DetectParamsSchema,
  /** The class filter as the client gave it (labels), for display. */
  classLabels: z.array(z.string()).nullable(),
  priority: PrioritySchema,
  correlationId: z.string(),
  createdAt: z.string(),
  /** Hash id of the API key that made the request, when keys are in use. */
  clientId: z.string().optional(),
  /** Where a signed webhook goes when the request ends (checked against the address policy at submit). */
  callbackUrl: z.string().url().optional(),
  /** The batch the request is an item of. */
  batchId: z.string().optional(),
});
export type RequestRecord = z.infer<typeof RequestRecordSchema>;

import { z } from 'zod';
import { InferenceResultSchema } from './detection';
import { ErrorInfoSchema, type ErrorInfo } from './errors';
import { type RequestRecord, RequestRecordSchema } from './requests';

/**
 * How a piece of work ended: its result, or its failure. The one shape for it: stored as the
 * work's outcome (the result cache), carried to apps/results in a persist job, announced to
 * waiting gateways, and turned into the client's view and the row.
 */
export const WorkOutcomeSchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), result: InferenceResultSchema }),
  z.object({ ok: z.literal(false), error: ErrorInfoSchema, failedAt: z.string() }),
]);
export type WorkOutcome = z.infer<typeof WorkOutcomeSchema>;

/** A failure outcome, now. */
export function failed(error: ErrorInfo, at = new Date()): WorkOutcome {
  return { ok: false, error, failedAt: at.toISOString() };
}

/** When the work ended (a result's finish, a failure's time). */
export function endedAt(outcome: WorkOutcome): string {
  return outcome.ok ? outcome.result.finishedAt : outcome.failedAt;
}

/**
 * How a request got its outcome: from a job (which one, after how many attempts), or from the
 * cache at admission (no job ran for it).
 */
export const WorkEndSchema = z.object({
  workKey: z.string(),
  /** The job that ended the work; null for a cache hit. */
  jobId: z.string().nullable(),
  /** Attempts the job made (0 for a cache hit). */
  attempts: z.number().int().nonnegative(),
  cached: z.boolean(),
  outcome: WorkOutcomeSchema,
});
export type WorkEnd = z.infer<typeof WorkEndSchema>;

/**
 * A request its client canceled while it waited: it ends without an outcome (the work, if another
 * request still needs it, goes on without it).
 */
export const CancelEndSchema = z.object({ canceled: z.literal(true), at: z.string() });
export type CancelEnd = z.infer<typeof CancelEndSchema>;

/** How a request ended: its work's end, or its cancellation. */
export const RequestEndSchema = z.union([WorkEndSchema, CancelEndSchema]);
export type RequestEnd = z.infer<typeof RequestEndSchema>;

/** Whether a request's end is a cancellation. */
export function isCancel(end: RequestEnd): end is CancelEnd {
  return 'canceled' in end;
}

/** Requests that ended one way: the end, and the records of the requests it ended. */
export const HandedEndSchema = z.object({
  end: RequestEndSchema,
  records: z.array(RequestRecordSchema).min(1),
});
export type HandedEnd = z.infer<typeof HandedEndSchema>;

/**
 * A persist job (queue `results`): requests that ended, and how. A worker ends the jobs of one
 * model run together, so one persist job may carry several ends. Idempotent by request id.
 */
export const PersistJobSchema = z.union([
  z.object({ ends: z.array(HandedEndSchema).min(1) }),
  // The one-end shape earlier releases queued: still read, so a rolling upgrade loses no job left waiting.
  HandedEndSchema.transform((one) => ({ ends: [one] })),
]);
export type PersistJob = z.output<typeof PersistJobSchema>;

/** Every request a persist job carries (tolerant of a malformed job, as operators' listings read them). */
export function persistRequests(job: Partial<PersistJob> | Partial<HandedEnd> | undefined): RequestRecord[] {
  if (job && 'ends' in job && Array.isArray(job.ends)) return job.ends.flatMap((e) => (Array.isArray(e?.records) ? e.records : []));
  if (job && 'records' in job && Array.isArray(job.records)) return job.records;
  return [];
}

/**
 * A final failure as BullMQ's `failedReason` (a string): JSON of {@link ErrorInfo}, so whoever
 * reads the failed job (status reads, the reconciler) gets the code back.
 */
export function encodeFailure(info: ErrorInfo): string {
  return JSON.stringify(info);
}

/** Reads a BullMQ `failedReason`; anything that is not an encoded failure becomes internal_error. */
export function decodeFailure(reason: string | undefined | null): ErrorInfo {
  if (reason) {
    try {
      const parsed = ErrorInfoSchema.safeParse(JSON.parse(reason));
      if (parsed.success) return parsed.data;
    } catch {
      // not JSON: a BullMQ-level reason such as a stalled job
    }
  }
  return { code: 'internal_error', message: reason || 'unknown failure' };
}

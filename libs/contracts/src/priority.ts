import { z } from 'zod';

export const PRIORITIES = ['high', 'normal', 'low'] as const;
export const PrioritySchema = z.enum(PRIORITIES);
export type Priority = z.infer<typeof PrioritySchema>;

/**
 * BullMQ priorities: lower is served first; every Argus job has one (>= 1) so that all of them
 * live in BullMQ's prioritised set, FIFO within a level.
 */
export const BULLMQ_PRIORITY: Readonly<Record<Priority, number>> = Object.freeze({
  high: 1,
  normal: 2,
  low: 3,
});

/** The priority name for a BullMQ priority number. */
export function priorityFromBullmq(value: number | undefined): Priority {
  for (const name of PRIORITIES) if (BULLMQ_PRIORITY[name] === value) return name;
  return 'normal';
}

import { z } from 'zod';
import { DetectionViewSchema } from '../api';
import { BatchViewSchema } from '../batch';

export const WEBHOOK_EVENT_TYPES = ['detection.completed', 'detection.failed', 'batch.completed'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** The body of a webhook delivery: `{ "type", "data" }`, a detection view or a batch view. */
export const WebhookEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('detection.completed'), data: DetectionViewSchema }),
  z.object({ type: z.literal('detection.failed'), data: DetectionViewSchema }),
  z.object({ type: z.literal('batch.completed'), data: BatchViewSchema }),
]);
export type WebhookEvent = z.infer<typeof WebhookEventSchema>;

/**
 * One webhook delivery (queue `webhooks`). Its job id is its `webhook-id`, the same on every
 * attempt, so receivers can recognise a redelivery; the event is carried whole, so every attempt
 * sends the same body whatever happened to the detection since.
 */
export const WebhookJobSchema = z.object({
  url: z.string().url(),
  /** Whose secret signs it: the API client of the detection or batch. */
  clientId: z.string().nullable(),
  event: WebhookEventSchema,
});
export type WebhookJob = z.infer<typeof WebhookJobSchema>;

/** The webhook id (and job id) of the event for a detection or a batch: stable across attempts and replays. */
export function webhookId(type: WebhookEventType, id: string): string {
  return `msg_${type.startsWith('batch') ? 'batch' : 'det'}_${id}`;
}

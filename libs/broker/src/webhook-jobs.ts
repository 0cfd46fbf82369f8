import { JobName, type WebhookJob } from '@argus/contracts';
import type { JobsOptions, Queue } from 'bullmq';

export type WebhookQueue = Queue<WebhookJob, number, typeof JobName.Webhook>;

/** Longest wait between two deliveries of a webhook. */
export const WEBHOOK_BACKOFF_CAP_MS = 15 * 60_000;

/**
 * Webhook deliveries: `attempts` tries, the wait doubling from `backoffMs` up to 15 minutes (the
 * `webhook` backoff of the webhooks processor). Delivered ones are kept a day so a replayed end
 * (a persist job delivered twice) finds its webhook already there and adds nothing; failed ones a
 * month, with the receiver's answer as the reason, to retry from Bull Board.
 */
export function webhookJobOptions(attempts: number, backoffMs: number): JobsOptions {
  return {
    attempts,
    backoff: { type: 'webhook', delay: backoffMs },
    removeOnComplete: { age: 86400, count: 50000 },
    removeOnFail: { age: 30 * 86400, count: 50000 },
  };
}

/** Every BullMQ operation on the `webhooks` queue behind one class. */
export class WebhookJobs {
  constructor(private readonly queue: WebhookQueue) {}

  /**
   * Queues one delivery under its webhook id: adding the same id again while the job is kept is a
   * no-op, so the end of a request replayed after a crash does not deliver twice.
   */
  async send(webhookId: string, job: WebhookJob): Promise<void> {
    await this.queue.add(JobName.Webhook, job, { jobId: webhookId });
  }
}

import { cappedBackoff, connectionErrorLogger, WEBHOOK_BACKOFF_CAP_MS } from '@argus/broker';
import { ARGUS_CONFIG, type ArgusConfig } from '@argus/config';
import { encodeFailure, QueueName, type WebhookJob, WebhookJobSchema } from '@argus/contracts';
import { type AddressPolicy, fetchUrl, isEgressError, parseHttpUrl } from '@argus/egress';
import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, Logger } from '@nestjs/common';
import { type Job, type MinimalJob, UnrecoverableError } from 'bullmq';
import { ADDRESS_POLICY } from './address-policy.provider';
import { webhookHeaders } from './signature';
import { WebhookSecrets } from './webhook-secrets.service';

/** Most of a receiver's answer read (and dropped): only its status matters. */
const ANSWER_BYTES = 64 * 1024;

/** The `webhook` backoff: from the job's own delay (WEBHOOK_BACKOFF_MS), doubling, at most 15 minutes. */
export function webhookBackoff(attemptsMade: number, type: string | undefined, _error: Error | undefined, job: MinimalJob | undefined): number {
  const base = (job?.opts.backoff as { delay?: number } | undefined)?.delay ?? 5000;
  return type === 'webhook' ? cappedBackoff(attemptsMade, base, WEBHOOK_BACKOFF_CAP_MS) : cappedBackoff(attemptsMade);
}

/**
 * The `webhooks` queue's processor: posts each event, signed per Standard Webhooks with the
 * client's secret, to its callback URL through the same address policy as image URLs (no request
 * into the private network through a callback), the connection pinned to the checked address and
 * no redirect followed. A 2xx answer delivers it; anything else (an error status, a timeout, a
 * refused address) is retried with the `webhook` backoff, and after WEBHOOK_ATTEMPTS it stays a
 * failed job whose reason names the receiver's answer. It lives in apps/results, where the jobs
 * are added and the per-key secrets are kept.
 */
@Processor(QueueName.Webhooks, { concurrency: 16, settings: { backoffStrategy: webhookBackoff } })
export class WebhooksProcessor extends WorkerHost {
  private readonly logger = new Logger(WebhooksProcessor.name);

  constructor(
    private readonly secrets: WebhookSecrets,
    @Inject(ADDRESS_POLICY) private readonly policy: AddressPolicy,
    @Inject(ARGUS_CONFIG) private readonly config: ArgusConfig,
  ) {
    super();
  }

  private readonly onError = connectionErrorLogger('worker:webhooks');

  /** Redis going away shows as a burst of connection errors: logged at most every few seconds. */
  @OnWorkerEvent('error')
  workerError(error: Error): void {
    this.onError(error);
  }

  async process(job: Job<WebhookJob>): Promise<number> {
    const parsed = WebhookJobSchema.safeParse(job.data);
    if (!parsed.success || !job.id) throw new UnrecoverableError(encodeFailure({ code: 'validation_failed', message: `Invalid webhook job: ${parsed.error?.message.slice(0, 300) ?? 'no id'}` }));
    const { url, clientId, event } = parsed.data;
    const secret = await this.secrets.of(clientId);
    if (!secret) throw new UnrecoverableError(`no webhook secret for ${clientId ?? 'anonymous'}: set WEBHOOK_SECRET, or give the key one with \`keys webhook-secret\``);
    const body = JSON.stringify(event);
    const started = performance.now();
    const attempt = job.attemptsMade + 1;
    try {
      const answer = await fetchUrl(parseHttpUrl(url, 'callbackUrl'), {
        policy: this.policy,
        method: 'POST',
        body,
        // A fresh timestamp per attempt (receivers refuse old ones); the id stays the same.
        headers: { 'content-type': 'application/json', ...webhookHeaders(secret, job.id, Math.floor(Date.now() / 1000), body) },
        timeoutMs: this.config.webhooks.timeoutMs,
        maxBytes: ANSWER_BYTES,
        truncate: true,
        okOnly: false,
      });
      const ms = Math.round(performance.now() - started);
      if (answer.status < 200 || answer.status > 299) {
        this.logger.warn({ msg: 'webhook refused by its receiver; will retry', webhookId: job.id, attempt, status: answer.status, ms });
        throw new Error(`the receiver answered HTTP ${answer.status} (attempt ${attempt})`);
      }
      this.logger.log({ msg: 'webhook delivered', webhookId: job.id, type: event.type, attempt, status: answer.status, ms });
      return answer.status;
    } catch (error) {
      if (!isEgressError(error)) throw error;
      this.logger.warn({ msg: 'webhook not delivered; will retry', webhookId: job.id, attempt, reason: error.reason, error: error.message });
      throw new Error(`delivery failed (attempt ${attempt}): ${error.message}`);
    }
  }
}

import { createHmac } from 'node:crypto';

/** The HMAC key of a webhook secret: the decoded bytes of `whsec_<base64>`, else the text's UTF-8 bytes. */
export function webhookKey(secret: string): Buffer {
  if (secret.startsWith('whsec_')) return Buffer.from(secret.slice('whsec_'.length), 'base64');
  return Buffer.from(secret, 'utf8');
}

/** The headers of one delivery attempt, per Standard Webhooks: id, timestamp (unix seconds) and `v1,<base64 HMAC-SHA256 of id.timestamp.body>`. */
export function webhookHeaders(secret: string, id: string, timestamp: number, body: string): Record<string, string> {
  const signature = createHmac('sha256', webhookKey(secret)).update(`${id}.${timestamp}.${body}`).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': `v1,${signature}` };
}

import { WebhookVerificationError } from './errors';
import type { WebhookEvent } from './types';

/** Request headers as Node (`req.headers`), fetch (`Headers`) or a plain object give them. */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

/** Options of {@link verifyWebhook}. */
export interface VerifyWebhookOptions {
  /** How far `webhook-timestamp` may be from now, either way, in seconds. Default 300. */
  toleranceSeconds?: number;
  /** The time to check against (default: now). */
  now?: Date | number;
}

const SECRET_PREFIX = 'whsec_';
const encoder = new TextEncoder();

/**
 * Checks a webhook delivery signed per Standard Webhooks and returns its parsed body; throws
 * {@link WebhookVerificationError} when a header is missing, the timestamp is not within the
 * tolerance, no `v1` signature matches, or the body is not an event. `body` must be the raw
 * request body, exactly as received. The secret is `whsec_<base64>` (the key is the decoded
 * bytes), any other text (the key is its UTF-8 bytes), or the key's bytes.
 */
export async function verifyWebhook(secret: string | Uint8Array, headers: WebhookHeaders, body: string | Uint8Array, options: VerifyWebhookOptions = {}): Promise<WebhookEvent> {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (id === undefined || timestamp === undefined || signatures === undefined) {
    const missing = [id === undefined && 'webhook-id', timestamp === undefined && 'webhook-timestamp', signatures === undefined && 'webhook-signature'].filter(Boolean);
    throw new WebhookVerificationError('webhook_missing_header', `Missing header(s): ${missing.join(', ')}`);
  }
  if (!/^\d{1,15}$/.test(timestamp)) throw new WebhookVerificationError('webhook_invalid_timestamp', 'webhook-timestamp is not a number of seconds');
  const nowSeconds = Math.floor(Number(options.now ?? Date.now()) / 1000);
  const tolerance = options.toleranceSeconds ?? 300;
  if (Math.abs(nowSeconds - Number(timestamp)) > tolerance) {
    throw new WebhookVerificationError('webhook_stale_timestamp', `webhook-timestamp is more than ${tolerance} s from now (a replay, or a clock off)`);
  }

  const expected = await hmac(secret, id, timestamp, body);
  let matched = false;
  for (const entry of signatures.split(' ')) {
    const comma = entry.indexOf(',');
    if (comma < 0 || entry.slice(0, comma) !== 'v1') continue;
    const given = decodeBase64(entry.slice(comma + 1));
    // Every candidate is compared, so the time taken does not tell which one (if any) matched.
    if (given && constantTimeEqual(given, expected)) matched = true;
  }
  if (!matched) throw new WebhookVerificationError('webhook_invalid_signature', 'No v1 signature in webhook-signature matches this body and secret');

  let event: unknown;
  try {
    event = JSON.parse(typeof body === 'string' ? body : new TextDecoder().decode(body));
  } catch {
    throw new WebhookVerificationError('webhook_invalid_body', 'The body is not JSON');
  }
  if (!event || typeof event !== 'object' || typeof (event as { type?: unknown }).type !== 'string' || !('data' in event)) {
    throw new WebhookVerificationError('webhook_invalid_body', 'The body is not a webhook event ({ "type", "data" })');
  }
  return event as WebhookEvent;
}

/** The `webhook-signature` value (`v1,<base64>`) for a delivery: for testing webhook handlers. */
export async function signWebhook(secret: string | Uint8Array, delivery: { id: string; timestamp: number; body: string | Uint8Array }): Promise<string> {
  return `v1,${encodeBase64(await hmac(secret, delivery.id, String(delivery.timestamp), delivery.body))}`;
}

async function hmac(secret: string | Uint8Array, id: string, timestamp: string, body: string | Uint8Array): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey('raw', secretKey(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const prefix = encoder.encode(`${id}.${timestamp}.`);
  // The body's bytes as received: decoding and re-encoding could alter what was signed.
  const payload = typeof body === 'string' ? encoder.encode(body) : body;
  const content = new Uint8Array(prefix.length + payload.length);
  content.set(prefix);
  content.set(payload, prefix.length);
  return new Uint8Array(await crypto.subtle.sign('HMAC', key, content));
}

function secretKey(secret: string | Uint8Array): Uint8Array {
  if (typeof secret !== 'string') return secret;
  if (!secret.startsWith(SECRET_PREFIX)) return encoder.encode(secret);
  const key = decodeBase64(secret.slice(SECRET_PREFIX.length));
  if (!key || key.length === 0) throw new TypeError('The webhook secret starts with whsec_ but the rest is not base64');
  return key;
}

function header(headers: WebhookHeaders, name: string): string | undefined {
  let value: string | string[] | null | undefined;
  if (typeof (headers as Headers).get === 'function') {
    value = (headers as Headers).get(name);
  } else {
    const record = headers as Record<string, string | string[] | undefined>;
    const key = Object.keys(record).find((k) => k.toLowerCase() === name);
    value = key === undefined ? undefined : record[key];
  }
  // Repeated headers (an array from Node) join the way HTTP joins them.
  const text = Array.isArray(value) ? value.join(' ') : value;
  return text === null || text === undefined || text.trim() === '' ? undefined : text.trim();
}

function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= (a[i] as number) ^ (b[i] as number);
  return difference === 0;
}

function decodeBase64(text: string): Uint8Array | null {
  try {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  } catch {
    return null;
  }
}

function encodeBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

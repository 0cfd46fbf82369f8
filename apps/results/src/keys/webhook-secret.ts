import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Webhook secrets of keys made with the keys CLI. Unlike an API key (which Argus only has to
 * recognise, so it keeps a hash), a webhook secret must be used as it is to sign each delivery, so
 * it is stored whole. With WEBHOOK_ENCRYPTION_SECRET set it is sealed (AES-256-GCM under a key
 * derived from that secret with HKDF): a copy of the database, a backup or a read-only SQL hole
 * then yields nothing that can sign. Without it, it is stored as it is (`plain:`), as a signing
 * secret on a par with the results the same rows hold.
 */

const SEALED = 'aes256gcm:';
const PLAIN = 'plain:';

/** A new secret in the Standard Webhooks form: `whsec_` and 32 random bytes in base64. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

function sealingKey(encryptionSecret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', encryptionSecret, 'argus', 'webhook-secrets', 32));
}

/** The stored form of a secret: sealed when an encryption secret is given, else marked plain. */
export function sealWebhookSecret(secret: string, encryptionSecret: string): string {
  if (!encryptionSecret) return `${PLAIN}${secret}`;
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', sealingKey(encryptionSecret), iv);
  const sealed = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return `${SEALED}${[iv, cipher.getAuthTag(), sealed].map((b) => b.toString('base64')).join('.')}`;
}

/** The secret from its stored form; throws saying why when a sealed one cannot be opened. */
export function openWebhookSecret(stored: string, encryptionSecret: string): string {
  if (stored.startsWith(PLAIN)) return stored.slice(PLAIN.length);
  if (!stored.startsWith(SEALED)) throw new Error('the stored webhook secret has an unknown form');
  if (!encryptionSecret) throw new Error('the webhook secret is sealed and WEBHOOK_ENCRYPTION_SECRET is not set');
  const [iv, tag, sealed] = stored
    .slice(SEALED.length)
    .split('.')
    .map((part) => Buffer.from(part, 'base64'));
  if (!iv || !tag || !sealed) throw new Error('the stored webhook secret is damaged');
  try {
    const decipher = createDecipheriv('aes-256-gcm', sealingKey(encryptionSecret), iv);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(sealed), decipher.final()]).toString('utf8');
  } catch {
    throw new Error('the webhook secret does not open with this WEBHOOK_ENCRYPTION_SECRET (was it changed? rotate it with the keys CLI)');
  }
}

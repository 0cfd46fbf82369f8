import { newWebhookSecret, openWebhookSecret, sealWebhookSecret } from './webhook-secret';

describe('webhook secrets at rest', () => {
  const secret = newWebhookSecret();

  it('makes Standard Webhooks secrets of 32 random bytes', () => {
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
    expect(newWebhookSecret()).not.toBe(secret);
  });

  it('seals a secret so the stored text does not contain it, and opens it with the same encryption secret only', () => {
    const stored = sealWebhookSecret(secret, 'an encryption secret');
    expect(stored).toMatch(/^aes256gcm:/);
    expect(stored).not.toContain(secret.slice(6, 20));
    expect(sealWebhookSecret(secret, 'an encryption secret')).not.toBe(stored);
    expect(openWebhookSecret(stored, 'an encryption secret')).toBe(secret);
    expect(() => openWebhookSecret(stored, 'another')).toThrow(/does not open/);
    expect(() => openWebhookSecret(stored, '')).toThrow(/WEBHOOK_ENCRYPTION_SECRET is not set/);
  });

  it('refuses a sealed secret someone altered', () => {
    const stored = sealWebhookSecret(secret, 'k');
    const [iv, tag, body] = stored.slice('aes256gcm:'.length).split('.') as [string, string, string];
    const flipped = Buffer.from(body, 'base64');
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    expect(() => openWebhookSecret(`aes256gcm:${iv}.${tag}.${flipped.toString('base64')}`, 'k')).toThrow(/does not open/);
  });

  it('stores it as it is without an encryption secret, and reads that form with or without one', () => {
    const stored = sealWebhookSecret(secret, '');
    expect(stored).toBe(`plain:${secret}`);
    expect(openWebhookSecret(stored, '')).toBe(secret);
    expect(openWebhookSecret(stored, 'set later')).toBe(secret);
  });
});

import { createHmac } from 'node:crypto';
import { WebhookVerificationError } from './errors';
import { signWebhook, verifyWebhook } from './webhooks';

const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const now = 1_735_689_600; // 2025-01-01T00:00:00Z, in seconds
const body = JSON.stringify({ type: 'detection.completed', data: { id: 'd1', status: 'completed', detections: [] } });

async function delivery(overrides: { secret?: string | Uint8Array; id?: string; timestamp?: number; body?: string } = {}) {
  const id = overrides.id ?? 'msg_1';
  const timestamp = overrides.timestamp ?? now;
  const signature = await signWebhook(overrides.secret ?? secret, { id, timestamp, body: overrides.body ?? body });
  return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signature };
}

const verify = (headers: Parameters<typeof verifyWebhook>[1], payload: string | Uint8Array = body, key: string | Uint8Array = secret, toleranceSeconds?: number) =>
  verifyWebhook(key, headers, payload, { now: now * 1000, ...(toleranceSeconds !== undefined ? { toleranceSeconds } : {}) });

describe(verifyWebhook.name, () => {
  it('matches the Standard Webhooks reference signature', async () => {
    const reference = { id: 'msg_p5jXN8AQM9LWM0D4loKWxJek', timestamp: 1614265330, body: '{"test": 2432232314}' };
    expect(await signWebhook(secret, reference)).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('accepts a valid delivery and returns its event, with the body as text or bytes and headers as Headers or an object', async () => {
    const headers = await delivery();
    expect(await verify(headers)).toEqual(JSON.parse(body));
    expect(await verify(new Headers(headers), new TextEncoder().encode(body))).toMatchObject({ type: 'detection.completed', data: { id: 'd1' } });
    const shouting = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toUpperCase(), v]));
    expect(await verify(shouting)).toMatchObject({ type: 'detection.completed' });
  });

  it('takes a raw text secret as its UTF-8 bytes, and a whsec_ secret as its base64 bytes', async () => {
    const raw = 'my-plain-secret-ü';
    const text = JSON.stringify({ type: 'batch.completed', data: { id: 'b1' } });
    // The server's side, computed independently with node:crypto.
    const sign = (key: Buffer) => `v1,${createHmac('sha256', key).update(`msg_2.${now}.${text}`).digest('base64')}`;
    const headers = (signature: string) => ({ 'webhook-id': 'msg_2', 'webhook-timestamp': String(now), 'webhook-signature': signature });
    expect(await verify(headers(sign(Buffer.from(raw, 'utf8'))), text, raw)).toMatchObject({ type: 'batch.completed' });
    expect(await verify(headers(sign(Buffer.from(secret.slice(6), 'base64'))), text, secret)).toMatchObject({ type: 'batch.completed' });
    expect(await verify(headers(sign(Buffer.from([1, 2, 3]))), text, new Uint8Array([1, 2, 3]))).toMatchObject({ type: 'batch.completed' });
    // The same text taken the other way does not verify.
    await expect(verify(headers(sign(Buffer.from(secret, 'utf8'))), text, secret)).rejects.toMatchObject({ code: 'webhook_invalid_signature' });
  });

  it('refuses a tampered body', async () => {
    const error = await verify(await delivery(), body.replace('completed', 'failed')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebhookVerificationError);
    expect(error).toMatchObject({ name: 'WebhookVerificationError', code: 'webhook_invalid_signature', status: 0 });
  });

  it('refuses a signature made with another secret, or over another id or timestamp', async () => {
    await expect(verify(await delivery({ secret: 'whsec_b3RoZXItc2VjcmV0' }))).rejects.toMatchObject({ code: 'webhook_invalid_signature' });
    const headers = await delivery();
    await expect(verify({ ...headers, 'webhook-id': 'msg_other' })).rejects.toMatchObject({ code: 'webhook_invalid_signature' });
    await expect(verify({ ...headers, 'webhook-timestamp': String(now + 1) })).rejects.toMatchObject({ code: 'webhook_invalid_signature' });
  });

  it('refuses a timestamp outside the tolerance either way (default 5 minutes)', async () => {
    expect(await verify(await delivery({ timestamp: now - 300 }))).toMatchObject({ type: 'detection.completed' });
    await expect(verify(await delivery({ timestamp: now - 301 }))).rejects.toMatchObject({ code: 'webhook_stale_timestamp' });
    await expect(verify(await delivery({ timestamp: now + 301 }))).rejects.toMatchObject({ code: 'webhook_stale_timestamp' });
    expect(await verify(await delivery({ timestamp: now - 3600 }), body, secret, 7200)).toMatchObject({ type: 'detection.completed' });
    await expect(verify({ ...(await delivery()), 'webhook-timestamp': '2025-01-01T00:00:00Z' })).rejects.toMatchObject({ code: 'webhook_invalid_timestamp' });
  });

  it('accepts any matching v1 signature among several (a secret being rotated), ignoring other versions and garbage', async () => {
    const valid = (await delivery())['webhook-signature'];
    const old = (await delivery({ secret: 'whsec_b2xkLXNlY3JldA==' }))['webhook-signature'];
    const headers = { ...(await delivery()), 'webhook-signature': `${old} v1a,c29tZXRoaW5n v1,!!notbase64 nocomma ${valid}` };
    expect(await verify(headers)).toMatchObject({ type: 'detection.completed' });
    await expect(verify({ ...headers, 'webhook-signature': `${old} v2,${valid.slice(3)}` })).rejects.toMatchObject({ code: 'webhook_invalid_signature' });
  });

  it('names the missing headers', async () => {
    const { 'webhook-signature': _signature, ...headers } = await delivery();
    await expect(verify(headers)).rejects.toMatchObject({ code: 'webhook_missing_header', message: 'Missing header(s): webhook-signature' });
    await expect(verify({})).rejects.toMatchObject({ message: 'Missing header(s): webhook-id, webhook-timestamp, webhook-signature' });
  });

  it('refuses a signed body that is not an event', async () => {
    for (const text of ['not json', '{"data":{}}', '[1]']) {
      await expect(verify(await delivery({ body: text }), text)).rejects.toMatchObject({ code: 'webhook_invalid_body' });
    }
  });

  it('says so when a whsec_ secret is not base64', async () => {
    await expect(verify(await delivery(), body, 'whsec_%%%')).rejects.toThrow(TypeError);
  });
});

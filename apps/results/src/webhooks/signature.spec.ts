import { verifyWebhook, WebhookVerificationError } from '@argus/client';
import { webhookHeaders, webhookKey } from './signature';

describe(webhookHeaders.name, () => {
  const body = JSON.stringify({ type: 'detection.completed', data: { id: 'd1', status: 'completed' } });
  const now = Math.floor(Date.now() / 1000);

  it.each([
    ['a whsec_ secret (the key is its decoded bytes)', `whsec_${Buffer.from('k'.repeat(32)).toString('base64')}`],
    ['a raw text secret (the key is its UTF-8 bytes)', 'a plain shared sécret'],
  ])('signs so that the client package verifies it, with %s', async (_kind, secret) => {
    const headers = webhookHeaders(secret, 'msg_det_1', now, body);
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    await expect(verifyWebhook(secret, headers, body)).resolves.toMatchObject({ type: 'detection.completed', data: { id: 'd1' } });
  });

  it('signs the id, the timestamp and the exact body: changing any of them fails verification', async () => {
    const secret = 'whsec_c2VjcmV0LWZvci10ZXN0cw==';
    const headers = webhookHeaders(secret, 'msg_det_1', now, body);
    const refused = async (h: Record<string, string>, b: string) =>
      verifyWebhook(secret, h, b).then(
        () => null,
        (e: unknown) => (e instanceof WebhookVerificationError ? e.code : String(e)),
      );
    expect(await refused(headers, body.replace('d1', 'd2'))).toBe('webhook_invalid_signature');
    expect(await refused({ ...headers, 'webhook-id': 'msg_det_2' }, body)).toBe('webhook_invalid_signature');
    expect(await refused({ ...headers, 'webhook-timestamp': String(now + 1) }, body)).toBe('webhook_invalid_signature');
    expect(await refused(headers, body)).toBeNull();
  });

  it('reads whsec_ secrets as base64 and anything else as text', () => {
    expect(webhookKey('whsec_AAEC')).toEqual(Buffer.from([0, 1, 2]));
    expect(webhookKey('AAEC')).toEqual(Buffer.from('AAEC'));
  });
});

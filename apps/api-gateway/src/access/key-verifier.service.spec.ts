import { buildConfig, hashApiKey, managedApiKeyText } from '@argus/config';
import type { ApiKeyGrant } from '@argus/contracts';
import { randomBytes } from 'node:crypto';
import { ApiError } from '../errors/api-error';
import type { ResultsClient } from '../results-client/results.client';
import { KeyVerifier } from './key-verifier.service';

/** apps/results' key lookup, scripted: the test is about what the gateway asks and caches. */
class FakeResults {
  calls = 0;
  grants = new Map<string, ApiKeyGrant>();
  down = false;
  async verifyApiKey(sha256: string): Promise<ApiKeyGrant | null> {
    this.calls += 1;
    await new Promise((r) => setTimeout(r, 5));
    if (this.down) throw new Error('connect ECONNREFUSED');
    return this.grants.get(sha256) ?? null;
  }
}

const managed = () => managedApiKeyText(randomBytes(6).toString('hex'), randomBytes(32));
const grant = (clientId: string): ApiKeyGrant => ({ clientId, name: clientId, priorities: ['low'], rateLimit: { perSecond: 1, burst: 2 }, scopes: [], webhooks: true });

describe(KeyVerifier.name, () => {
  const configured = 'configured-key-0123456789';
  let results: FakeResults;
  let verifier: KeyVerifier;

  beforeEach(() => {
    results = new FakeResults();
    verifier = new KeyVerifier(buildConfig({ API_KEYS: `ci:${configured}`, API_KEY_CACHE_SECONDS: '1' }), results as unknown as ResultsClient);
  });

  it('accepts a configured key in memory, with every priority, without asking apps/results', async () => {
    expect(await verifier.verify(configured)).toEqual({ clientId: 'cfg:ci', name: 'cfg:ci', priorities: ['high', 'normal', 'low'], rateLimit: null, scopes: [], webhooks: false });
    expect(results.calls).toBe(0);
  });

  it('lets configured keys ask for webhooks only when WEBHOOK_SECRET signs them', async () => {
    const signing = new KeyVerifier(buildConfig({ API_KEYS: `ci:${configured}`, WEBHOOK_SECRET: 'whsec_c2VjcmV0' }), results as unknown as ResultsClient);
    expect((await signing.verify(configured))?.webhooks).toBe(true);
  });

  it('never looks up text that is not shaped like a managed key', async () => {
    expect(await verifier.verify('guess-1234567890')).toBeNull();
    expect(await verifier.verify('')).toBeNull();
    expect(results.calls).toBe(0);
  });

  it('asks once for concurrent requests with the same key, then answers from its cache', async () => {
    const key = managed();
    results.grants.set(hashApiKey(key), grant('key:a'));
    const answers = await Promise.all([verifier.verify(key), verifier.verify(key), verifier.verify(key)]);
    expect(answers.map((a) => a?.clientId)).toEqual(['key:a', 'key:a', 'key:a']);
    expect(await verifier.verify(key)).toMatchObject({ priorities: ['low'] });
    expect(results.calls).toBe(1);
  });

  it('remembers an unknown key briefly, so a wrong key cannot hammer apps/results', async () => {
    const key = managed();
    expect(await verifier.verify(key)).toBeNull();
    expect(await verifier.verify(key)).toBeNull();
    expect(results.calls).toBe(1);
  });

  it('keeps accepting a key it confirmed before while apps/results is away, and says 503 for one it never saw', async () => {
    const known = managed();
    results.grants.set(hashApiKey(known), grant('key:known'));
    await verifier.verify(known);
    await new Promise((r) => setTimeout(r, 1100)); // the entry expires (API_KEY_CACHE_SECONDS=1)
    results.down = true;
    expect((await verifier.verify(known))?.clientId).toBe('key:known');
    const error = await verifier.verify(managed()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ code: 'unavailable', status: 503, headers: { 'Retry-After': '2' } });
  });
});

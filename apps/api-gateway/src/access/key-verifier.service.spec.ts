import { buildConfig, hashApiKey, managedApiKeyText } from '@argus/config';
import type { ApiKeyDirectory, ApiKeyGrant } from '@argus/contracts';
import { randomBytes } from 'node:crypto';
import { ApiError } from '../errors/api-error';
import type { ResultsClient } from '../results-client/results.client';
import { DIRECTORY_MIN_INTERVAL_MS, KeyVerifier } from './key-verifier.service';

/** apps/results' key lookups, scripted: the test is about what the gateway asks and caches. */
class FakeResults {
  lookups = 0;
  directoryFetches = 0;
  grants = new Map<string, { id: string; grant: ApiKeyGrant }>();
  down = false;

  add(key: string, grant: ApiKeyGrant): void {
    this.grants.set(hashApiKey(key), { id: key.slice(6, 18), grant });
  }

  async verifyApiKey(sha256: string): Promise<ApiKeyGrant | null> {
    this.lookups += 1;
    await new Promise((r) => setTimeout(r, 5));
    if (this.down) throw new Error('connect ECONNREFUSED');
    return this.grants.get(sha256)?.grant ?? null;
  }

  async apiKeyDirectory(): Promise<ApiKeyDirectory> {
    this.directoryFetches += 1;
    await new Promise((r) => setTimeout(r, 5));
    if (this.down) throw new Error('connect ECONNREFUSED');
    return { keys: Object.fromEntries([...this.grants].map(([sha256, { id }]) => [id, sha256.slice(0, 16)])) };
  }
}

const managed = (id = randomBytes(6).toString('hex')) => managedApiKeyText(id, randomBytes(32));
const grant = (clientId: string): ApiKeyGrant => ({ clientId, name: clientId, priorities: ['low'], rateLimit: { perSecond: 1, burst: 2 }, scopes: [] });
const nextInterval = () => new Promise((r) => setTimeout(r, DIRECTORY_MIN_INTERVAL_MS + 50));

describe(KeyVerifier.name, () => {
  const configured = 'configured-key-0123456789';
  let results: FakeResults;
  let verifier: KeyVerifier;

  const make = (cacheSeconds: string) => new KeyVerifier(buildConfig({ API_KEYS: `ci:${configured}`, API_KEY_CACHE_SECONDS: cacheSeconds }), results as unknown as ResultsClient);
  beforeEach(() => {
    results = new FakeResults();
    verifier = make('1');
  });

  it('accepts a configured key in memory, with every priority, without asking apps/results', async () => {
    expect(await verifier.verify(configured)).toEqual({ clientId: 'cfg:ci', name: 'cfg:ci', priorities: ['high', 'normal', 'low'], rateLimit: null, scopes: [] });
    expect(results.lookups + results.directoryFetches).toBe(0);
  });

  it('never looks up text that is not shaped like a managed key', async () => {
    expect(await verifier.verify('guess-1234567890')).toBeNull();
    expect(await verifier.verify('')).toBeNull();
    expect(results.lookups + results.directoryFetches).toBe(0);
  });

  it('asks once for concurrent requests with the same key, then answers from its cache', async () => {
    const key = managed();
    results.add(key, grant('key:a'));
    const answers = await Promise.all([verifier.verify(key), verifier.verify(key), verifier.verify(key)]);
    expect(answers.map((a) => a?.clientId)).toEqual(['key:a', 'key:a', 'key:a']);
    expect(await verifier.verify(key)).toMatchObject({ priorities: ['low'] });
    expect([results.lookups, results.directoryFetches]).toEqual([1, 1]);
  });

  it('refuses 10 000 made-up managed keys with a directory fetch or two and no lookup, while a known key stays cached', async () => {
    verifier = make('30');
    const known = managed();
    results.add(known, grant('key:known'));
    expect((await verifier.verify(known))?.clientId).toBe('key:known');
    const before = { lookups: results.lookups, fetches: results.directoryFetches };
    const flood = Promise.all(Array.from({ length: 10_000 }, () => verifier.verify(managed())));
    // the known key is answered from the cache while the flood waits for the directory
    expect((await verifier.verify(known))?.clientId).toBe('key:known');
    expect(results.lookups).toBe(before.lookups);
    const answers = await flood;
    expect(answers.every((a) => a === null)).toBe(true);
    expect(results.lookups).toBe(before.lookups);
    expect(results.directoryFetches - before.fetches).toBeLessThanOrEqual(2);
    expect((await verifier.verify(known))?.clientId).toBe('key:known');
    expect(results.lookups).toBe(before.lookups);
  });

  it('refuses a real key id with a guessed secret from memory', async () => {
    const real = managed();
    results.add(real, grant('key:real'));
    await verifier.verify(real);
    const lookups = results.lookups;
    const guesses = await Promise.all(Array.from({ length: 500 }, () => verifier.verify(managed(real.slice(6, 18)))));
    expect(guesses.every((g) => g === null)).toBe(true);
    expect(results.lookups).toBe(lookups);
  });

  it('accepts a key created after the directory was fetched, at the next fetch', async () => {
    await verifier.verify(managed()); // the directory is fetched, without the key below
    const fresh = managed();
    results.add(fresh, grant('key:fresh'));
    expect((await verifier.verify(fresh))?.clientId).toBe('key:fresh');
    expect(results.directoryFetches).toBe(2);
  });

  it('drops a revoked key when the directory no longer lists it', async () => {
    const key = managed();
    results.add(key, grant('key:gone'));
    expect(await verifier.verify(key)).not.toBeNull();
    results.grants.clear();
    await nextInterval(); // API_KEY_CACHE_SECONDS=1: the entry and the directory expire
    expect(await verifier.verify(key)).toBeNull();
    expect(results.lookups).toBe(1);
  });

  it('keeps accepting a key it confirmed before while apps/results is away, and says 503 for one it never saw', async () => {
    const known = managed();
    results.add(known, grant('key:known'));
    await verifier.verify(known);
    await nextInterval(); // the entry expires (API_KEY_CACHE_SECONDS=1)
    results.down = true;
    expect((await verifier.verify(known))?.clientId).toBe('key:known');
    for (const stranger of [managed(), managed()]) {
      const error = await verifier.verify(stranger).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ApiError);
      expect(error).toMatchObject({ code: 'unavailable', status: 503, headers: { 'Retry-After': '2' } });
    }
    // one failed fetch answers the others in its interval: no hammering of an apps/results that is away
    expect(results.directoryFetches).toBe(2);
  });
});

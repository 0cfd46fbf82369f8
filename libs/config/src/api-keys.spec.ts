import { hashApiKey, isManagedApiKey, managedApiKeyText, parseApiKeys } from './api-keys';
import { buildConfig } from './config';

describe('parseApiKeys', () => {
  const key = 'k'.repeat(24);

  it('accepts raw keys, sha256 hashes and named entries, and keeps only hashes', () => {
    const hash = hashApiKey('another-long-secret-key');
    const keys = parseApiKeys(` ${key} , sha256:${hash.toUpperCase()}, acme:${'a'.repeat(16)}, ops:sha256:${hash.replace('a', 'b')}`);
    expect(keys).toEqual([
      { id: `cfg:${hashApiKey(key).slice(0, 12)}`, sha256: hashApiKey(key), scopes: [] },
      { id: `cfg:${hash.slice(0, 12)}`, sha256: hash, scopes: [] },
      { id: 'cfg:acme', sha256: hashApiKey('a'.repeat(16)), scopes: [] },
      { id: 'cfg:ops', sha256: hash.replace('a', 'b'), scopes: [] },
    ]);
    expect(JSON.stringify(keys)).not.toContain(key);
  });

  it('gives named entries an admin scope after a slash, and refuses unknown scopes', () => {
    const hash = hashApiKey('another-long-secret-key');
    expect(parseApiKeys(`ops/admin:${key}, audit/admin:sha256:${hash}, alice:${key}x`)).toEqual([
      { id: 'cfg:ops', sha256: hashApiKey(key), scopes: ['admin'] },
      { id: 'cfg:audit', sha256: hash, scopes: ['admin'] },
      { id: 'cfg:alice', sha256: hashApiKey(`${key}x`), scopes: [] },
    ]);
    expect(() => parseApiKeys(`ops/root:${key}`)).toThrow(/entry 1: unknown scope "root"/);
    // A scope needs a name: "admin" alone is read as a name, and the key after it is checked as a key.
    expect(parseApiKeys(`admin:${key}`)).toEqual([{ id: 'cfg:admin', sha256: hashApiKey(key), scopes: [] }]);
  });

  it('is empty when unset', () => {
    expect(parseApiKeys('')).toEqual([]);
    expect(buildConfig({}).auth.keys).toEqual([]);
  });

  it('refuses short keys and malformed hashes without echoing the secret', () => {
    expect(() => parseApiKeys('short-key')).toThrow(/entry 1: a key needs at least 16/);
    expect(() => parseApiKeys(`${key},sha256:abc`)).toThrow(/entry 2/);
    try {
      parseApiKeys('sekrit');
    } catch (error) {
      expect(String(error)).not.toContain('sekrit');
    }
  });

  it('refuses a name used twice', () => {
    expect(() => parseApiKeys(`a:${key},a:${key}x`)).toThrow(/used twice/);
  });

  it('fails the whole configuration on a bad key', () => {
    expect(() => buildConfig({ API_KEYS: 'tiny' })).toThrow(/API_KEYS entry 1/);
  });
});

describe('managed API keys', () => {
  it('recognises the text the keys CLI makes, and nothing else', () => {
    const key = managedApiKeyText('0123456789ab', Buffer.alloc(32, 7));
    expect(isManagedApiKey(key)).toBe(true);
    expect(isManagedApiKey(`${key}x`)).toBe(false);
    expect(isManagedApiKey('argus_0123456789ab_short')).toBe(false);
    expect(() => managedApiKeyText('xyz', Buffer.alloc(32))).toThrow();
  });
});

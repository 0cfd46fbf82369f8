import { hashApiKey, isManagedApiKey, managedApiKeyText, parseApiKeys } from './api-keys';
import { buildConfig } from './config';

describe('parseApiKeys', () => {
  const key = 'k'.repeat(24);

  it('accepts raw keys, sha256 hashes and named entries, and keeps only hashes', () => {
    const hash = hashApiKey('another-long-secret-key');
    const keys = parseApiKeys(` ${key} , sha256:${hash.toUpperCase()}, acme:${'a'.repeat(16)}, ops:sha256:${hash.replace('a', 'b')}`);
    expect(keys).toEqual([
      { id: `cfg:${hashApiKey(key).slice(0, 12)}`, sha256: hashApiKey(key) },
      { id: `cfg:${hash.slice(0, 12)}`, sha256: hash },
      { id: 'cfg:acme', sha256: hashApiKey('a'.repeat(16)) },
      { id: 'cfg:ops', sha256: hash.replace('a', 'b') },
    ]);
    expect(JSON.stringify(keys)).not.toContain(key);
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

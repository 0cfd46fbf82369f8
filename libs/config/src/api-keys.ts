import { API_KEY_SCOPES, type ApiKeyScope, isApiKeyScope } from '@argus/contracts';
import { createHash } from 'node:crypto';

/** An API key accepted from configuration (API_KEYS). Only its hash is kept. */
export interface ConfiguredApiKey {
  /** The client id requests made with it are recorded under: `cfg:<name>`, or `cfg:<first 12 hex of its sha256>`. */
  id: string;
  /** sha256 of the key (hex). */
  sha256: string;
  /** Its scopes (a named entry `name/admin:key` is an admin key). */
  scopes: ApiKeyScope[];
}

/** Shortest raw key accepted: anything shorter is guessable, and refused at start. */
export const MIN_API_KEY_LENGTH = 16;

const HASHED = /^sha256:([0-9a-fA-F]{64})$/;
const NAMED = /^([A-Za-z0-9_.-]{1,64})(?:\/([a-z]+))?:(.+)$/;

/** sha256 of an API key, hex: how keys are compared and stored. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/**
 * Parses API_KEYS: comma-separated entries, each a raw key or `sha256:<64 hex>` (the hash of a
 * key, so the key itself need not sit in the environment), optionally prefixed with a name
 * (`name:key`, `name:sha256:<hex>`) that becomes the client id, and a scope after the name
 * (`name/admin:key`: an admin key; only named keys carry scopes, so logs and rows say whose it
 * is). Raw keys must not contain `:` or `,` and need at least 16 characters. Throws naming the
 * bad entry by position, never its text.
 */
export function parseApiKeys(value: string): ConfiguredApiKey[] {
  const entries = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const keys: ConfiguredApiKey[] = [];
  entries.forEach((entry, index) => {
    let name: string | null = null;
    let scopes: ApiKeyScope[] = [];
    let secret = entry;
    const named = NAMED.exec(entry);
    if (named && named[1]?.toLowerCase() !== 'sha256' && named[3]) {
      name = named[1] ?? null;
      secret = named[3];
      const scope = named[2];
      if (scope !== undefined) {
        if (!isApiKeyScope(scope)) {
          throw new Error(`API_KEYS entry ${index + 1}: unknown scope "${scope}" (known: ${API_KEY_SCOPES.join(', ')})`);
        }
        scopes = [scope];
      }
    }
    const hashed = HASHED.exec(secret);
    let sha256: string;
    if (hashed?.[1]) {
      sha256 = hashed[1].toLowerCase();
    } else if (secret.includes(':')) {
      throw new Error(`API_KEYS entry ${index + 1}: use "key", "name:key", "sha256:<64 hex>" or "name:sha256:<64 hex>"`);
    } else if (secret.length < MIN_API_KEY_LENGTH) {
      throw new Error(`API_KEYS entry ${index + 1}: a key needs at least ${MIN_API_KEY_LENGTH} characters`);
    } else {
      sha256 = hashApiKey(secret);
    }
    const id = `cfg:${name ?? sha256.slice(0, 12)}`;
    if (keys.some((k) => k.id === id)) throw new Error(`API_KEYS entry ${index + 1}: the name "${id.slice(4)}" is used twice`);
    keys.push({ id, sha256, scopes });
  });
  return keys;
}

/** Text of a Postgres-managed key: `argus_<12 hex id>_<43 base64url characters: 256 random bits>`. */
const MANAGED_KEY = /^argus_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$/;

/** Whether a presented key has the shape of a Postgres-managed key (checked before asking Postgres). */
export function isManagedApiKey(key: string): boolean {
  return MANAGED_KEY.test(key);
}

/** Makes the text of a new Postgres-managed key from its id and 32 random bytes. */
export function managedApiKeyText(id: string, secret: Buffer): string {
  if (!/^[0-9a-f]{12}$/.test(id) || secret.length !== 32) throw new Error('managed key: 12 hex id and 32 secret bytes');
  return `argus_${id}_${secret.toString('base64url')}`;
}

import { z } from 'zod';
import type { Priority } from './priority';

/**
 * Message patterns apps/results answers over @nestjs/microservices (TCP). The gateway is the only
 * caller; it never touches Postgres itself.
 */
export const ResultsRpc = Object.freeze({
  GetDetection: 'detections.get',
  ListDetections: 'detections.list',
  Health: 'results.health',
  /** Looks up an API key managed in Postgres by its sha256 (the gateway caches the answer). */
  VerifyApiKey: 'keys.verify',
  /** The ids of the active managed keys, each with the start of its sha256 (see ApiKeyDirectory). */
  ApiKeyIds: 'keys.ids',
} as const);
export type ResultsRpc = (typeof ResultsRpc)[keyof typeof ResultsRpc];

/** Scopes a key may carry beyond its own data: `admin` reads every client's detections. */
export const API_KEY_SCOPES = ['admin'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/** Whether a name is a known scope. */
export function isApiKeyScope(name: string): name is ApiKeyScope {
  return (API_KEY_SCOPES as readonly string[]).includes(name);
}

/**
 * Whose data a read may see: one client's (its id), or everyone's (null: admin keys only). Every
 * read names it, so a read that forgot its owner does not compile.
 */
export const ReadScopeSchema = z.object({ owner: z.string().min(1).nullable() });
export type ReadScope = z.infer<typeof ReadScopeSchema>;

export interface GetDetectionRequest {
  id: string;
  scope: ReadScope;
}

export interface VerifyApiKeyRequest {
  /** sha256 of the presented key, hex. The key itself never leaves the gateway. */
  sha256: string;
}

/** How many hex digits of a key's sha256 the directory carries: enough to tell a wrong secret, not the hash. */
export const KEY_HASH_PREFIX_LENGTH = 16;

/**
 * Every active managed key as `id -> the first KEY_HASH_PREFIX_LENGTH hex digits of its sha256`.
 * The gateway asks apps/results about a presented key only when both match, so made-up keys
 * (random ids, or a real id with a guessed secret) cost no lookup.
 */
export interface ApiKeyDirectory {
  keys: Record<string, string>;
}

/** An active API key managed in Postgres, as the gateway needs it; null when unknown or revoked. */
export interface ApiKeyGrant {
  /** The client id recorded with its requests (`key:<id>`). */
  clientId: string;
  name: string;
  /** Priorities it may ask for (others get 403). */
  priorities: Priority[];
  /** Its own rate limit, or null for the gateway's default. */
  rateLimit: { perSecond: number; burst: number } | null;
  /** What it may do beyond its own data. */
  scopes: ApiKeyScope[];
}

export interface ResultsHealth {
  database: boolean;
  migrations: { applied: number; pending: number };
}

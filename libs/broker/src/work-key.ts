import { createHash, randomBytes } from 'node:crypto';
import type { DetectParams, ModelRef } from '@argus/contracts';

/** The model side of a piece of work: the version, the content it had (a file replaced under the same version name is other work), and whether it was pinned. */
export interface WorkModel extends ModelRef {
  digest?: string;
  pinned?: boolean;
}

/**
 * The identity of a piece of work: sha256 over the image hash, the model version (with its
 * digest, and whether the client pinned it), the canonical parameters and, when results are
 * shared per tenant, the client. Identical requests share it, so they share one job and one cache
 * entry; with a tenant, only that client's identical requests do. A pinned request never shares
 * work with a weighted pick of the same version: a worker may run the latter on another version.
 */
export function workKey(imageSha256: string, model: WorkModel, params: DetectParams, tenant: string | null): string {
  const classes = params.classes ? [...new Set(params.classes)].sort((a, b) => a - b) : null;
  const canonical = JSON.stringify([
    ...(tenant === null ? [] : [tenant]),
    imageSha256,
    model.name,
    model.version,
    ...(model.digest !== undefined ? [model.digest] : []),
    ...(model.pinned ? ['pinned'] : []),
    params.confidence,
    params.iou,
    classes,
    params.maxDetections,
    params.agnostic,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

/** sha256 of some bytes, hex. */
export function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * A UUIDv7 (RFC 9562): time-ordered, so request ids sort by creation and index well in Postgres.
 */
export function newRequestId(now = Date.now()): string {
  const bytes = randomBytes(16);
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x70;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

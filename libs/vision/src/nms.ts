import type { Candidate } from './families/family';

/** Intersection over union of two boxes; 0 when the union is empty (zero-area boxes never suppress). */
export function boxIou(a: Candidate, b: Candidate): number {
  const w = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const h = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  const union = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Greedy non-maximum suppression: best score first, a box is dropped when its IoU with a kept
 * box (of the same class unless agnostic) is above the threshold. Ties keep input order; at most
 * maxDetections are returned, sorted by score.
 */
export function nms(
  candidates: readonly Candidate[],
  iouThreshold: number,
  options: { agnostic: boolean; maxDetections: number },
): Candidate[] {
  // Array.prototype.sort is stable, so equal scores stay in decode order: the result is deterministic.
  const order = [...candidates].sort((p, q) => q.score - p.score);
  const kept: Candidate[] = [];
  for (const c of order) {
    if (kept.length >= options.maxDetections) break;
    let suppressed = false;
    for (const k of kept) {
      if (!options.agnostic && k.classId !== c.classId) continue;
      if (boxIou(k, c) > iouThreshold) {
        suppressed = true;
        break;
      }
    }
    if (!suppressed) kept.push(c);
  }
  return kept;
}

import type { Detection, ErrorInfo, ModelRef } from '@argus/contracts';

/** One element of the JSON array `npm run detect` prints. */
export type DetectEntry =
  | { image: string; width: number; height: number; model: ModelRef; detections: Detection[] }
  | { image: string; error: ErrorInfo };

/** Scores to 4 decimals and pixels to 1: more digits are noise to a person reading the output. */
export function roundDetection(d: Detection): Detection {
  const px = (v: number) => Math.round(v * 10) / 10;
  return {
    label: d.label,
    classId: d.classId,
    score: Math.round(d.score * 10000) / 10000,
    box: { x1: px(d.box.x1), y1: px(d.box.y1), x2: px(d.box.x2), y2: px(d.box.y2) },
  };
}

/** Class ids for --classes entries (labels or ids); the entries that match nothing are returned apart. */
export function resolveClasses(entries: string[], labels: readonly string[]): { ids: number[]; unknown: string[] } {
  const ids = new Set<number>();
  const unknown: string[] = [];
  for (const entry of entries) {
    const byLabel = labels.indexOf(entry);
    const byId = /^\d+$/.test(entry) ? Number(entry) : -1;
    if (byLabel >= 0) ids.add(byLabel);
    else if (byId >= 0 && byId < labels.length) ids.add(byId);
    else unknown.push(entry);
  }
  return { ids: [...ids].sort((a, b) => a - b), unknown };
}

import { ModelError } from '../errors';
import type { Candidate, HeadShape } from './candidate';

/**
 * Decodes one image's Ultralytics head [4+C, anchors] (rows 0-3 cx, cy, w, h in input pixels;
 * rows 4.. class scores, already sigmoid, no objectness) into boxes in model-input pixels;
 * score = best class; keeps scores >= confidence.
 */
export function decodeYolov8(output: Float32Array, head: HeadShape, confidence: number): Candidate[] {
  const n = head.numAnchors;
  const classes = head.numClasses;
  if (output.length !== n * (4 + classes)) {
    throw new ModelError(
      'inference_failed',
      `YOLOv8 output holds ${output.length} values; expected ${4 + classes} rows x ${n} anchors`,
    );
  }
  // Class rows are contiguous: scanning them row by row reads memory in order, where a
  // per-anchor argmax would stride by n on every read.
  const best = output.slice(4 * n, 5 * n);
  const bestClass = new Uint32Array(n);
  for (let c = 1; c < classes; c++) {
    const row = (4 + c) * n;
    for (let a = 0; a < n; a++) {
      const v = output[row + a] as number;
      if (v > (best[a] as number)) {
        best[a] = v;
        bestClass[a] = c;
      }
    }
  }
  const found: Candidate[] = [];
  for (let a = 0; a < n; a++) {
    const score = best[a] as number;
    if (!(score >= confidence)) continue;
    const cx = output[a] as number;
    const cy = output[n + a] as number;
    const w = output[2 * n + a] as number;
    const h = output[3 * n + a] as number;
    found.push({ x1: cx - w / 2, y1: cy - h / 2, x2: cx + w / 2, y2: cy + h / 2, score, classId: bestClass[a] as number });
  }
  return found;
}

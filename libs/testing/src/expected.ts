import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { testImagesDir } from './paths';

/** One entry of ../shared/images/expected-detections.json (boxes as [x1, y1, x2, y2]). */
export interface ExpectedImage {
  model: string;
  image: string;
  width?: number;
  height?: number;
  detections?: { label: string; classId: number; score: number; box: [number, number, number, number] }[];
  error?: string;
}

/** The reference detections both models should reproduce (see images/EXPECTED.md). */
export function expectedDetections(): ExpectedImage[] {
  return JSON.parse(readFileSync(join(testImagesDir(), 'expected-detections.json'), 'utf8')) as ExpectedImage[];
}

/** Intersection over union of two [x1, y1, x2, y2] boxes. */
export function iou(a: readonly number[], b: readonly number[]): number {
  const [ax1 = 0, ay1 = 0, ax2 = 0, ay2 = 0] = a;
  const [bx1 = 0, by1 = 0, bx2 = 0, by2 = 0] = b;
  const w = Math.max(0, Math.min(ax2, bx2) - Math.max(ax1, bx1));
  const h = Math.max(0, Math.min(ay2, by2) - Math.max(ay1, by1));
  const inter = w * h;
  const union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter;
  return union > 0 ? inter / union : 0;
}

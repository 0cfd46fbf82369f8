import { ModelError } from '../errors';
import type { Candidate, HeadShape, ModelFamilyDefinition } from './family';
import { gridAnchors, gridOutput, notAGridHead } from './yolo-grid';

/**
 * Ultralytics YOLOv8 / YOLO11: one output [batch, 4+classes, anchors] (box centre and size in
 * input pixels, sigmoid class scores, no objectness); images in RGB 0..1, resized with Python's
 * rounding and centred on grey 114 with left/top = round(d - 0.1) (Ultralytics' LetterBox).
 */
export const YOLOV8: ModelFamilyDefinition = {
  name: 'yolov8',
  expected: (input) => `Ultralytics YOLOv8/YOLO11 [batch, 4+classes, ${gridAnchors(input.width, input.height)}] for a ${input.width}x${input.height} input`,
  recognise(io, input, overrides) {
    const grid = gridOutput(io, input, overrides);
    if (!grid.ok) return grid;
    const anchorsFit = grid.d2 === grid.anchors || (overrides.family === 'yolov8' && grid.d2 === undefined);
    if (!anchorsFit || grid.d1 === undefined || grid.d1 < 5) return { ok: false, reason: notAGridHead(grid) };
    const numClasses = grid.d1 - 4;
    return {
      ok: true,
      head: { outputs: [{ name: grid.output.name, size: grid.d1 * grid.anchors }], extraInputs: [], numClasses, numAnchors: grid.anchors },
    };
  },
  preprocessing: { placement: 'centre-rounded', kernel: 'lanczos3', shrinkOnLoad: true, padValue: 114, channels: 'rgb', divisor: 255, mean: [0, 0, 0], std: [1, 1, 1] },
  nms: true,
  decode: (output, spec, confidence) => decodeYolov8(output, spec, confidence),
  settle: (spec) => spec,
};

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

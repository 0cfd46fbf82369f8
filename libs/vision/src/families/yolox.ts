import { ModelError } from '../errors';
import type { Candidate, HeadShape, ModelFamilyDefinition } from './family';
import { STRIDES, gridAnchors, gridOutput, notAGridHead } from './yolo-grid';

/**
 * YOLOX (Megvii): one output [batch, anchors, 5+classes] over a stride-8/16/32 grid, raw box
 * offsets, sigmoid objectness and class scores; images in BGR 0..255, resized with truncation and
 * placed top-left on grey 114 (the YOLOX demo's preproc).
 */
export const YOLOX: ModelFamilyDefinition = {
  name: 'yolox',
  expected: (input) => `YOLOX [batch, ${gridAnchors(input.width, input.height)}, 5+classes] for a ${input.width}x${input.height} input`,
  recognise(io, input, overrides) {
    const grid = gridOutput(io, input, overrides);
    if (!grid.ok) return grid;
    // A forced family may leave the anchor count symbolic; recognising it needs the number.
    const anchorsFit = grid.d1 === grid.anchors || (overrides.family === 'yolox' && grid.d1 === undefined);
    if (!anchorsFit || grid.d2 === undefined || grid.d2 < 6) return { ok: false, reason: notAGridHead(grid) };
    const numClasses = grid.d2 - 5;
    return {
      ok: true,
      head: { outputs: [{ name: grid.output.name, size: grid.anchors * grid.d2 }], extraInputs: [], numClasses, numAnchors: grid.anchors },
    };
  },
  preprocessing: { placement: 'top-left', kernel: 'lanczos3', shrinkOnLoad: true, padValue: 114, channels: 'bgr', divisor: 1, mean: [0, 0, 0], std: [1, 1, 1] },
  nms: true,
  decode: (output, spec, confidence) => decodeYolox(output, spec, confidence),
  settle: (spec) => spec,
};

/**
 * Decodes one image's YOLOX head [anchors, 5+C] (obj and class scores already sigmoid) into boxes
 * in model-input pixels: grid over strides 8, 16, 32 with x fastest, cx = (tx+gx)*s,
 * w = exp(tw)*s, score = obj * best class; keeps scores >= confidence.
 */
export function decodeYolox(output: Float32Array, head: HeadShape, confidence: number): Candidate[] {
  const classes = head.numClasses;
  const step = 5 + classes;
  if (output.length !== head.numAnchors * step) {
    throw new ModelError(
      'inference_failed',
      `YOLOX output holds ${output.length} values; expected ${head.numAnchors} anchors x ${step}`,
    );
  }
  const found: Candidate[] = [];
  let base = 0;
  for (const s of STRIDES) {
    const rows = Math.floor(head.inputHeight / s);
    const cols = Math.floor(head.inputWidth / s);
    for (let gy = 0; gy < rows; gy++) {
      for (let gx = 0; gx < cols; gx++, base += step) {
        const objectness = output[base + 4] as number;
        // score = obj * cls <= obj: most anchors are rejected without reading their classes.
        if (!(objectness >= confidence)) continue;
        let best = output[base + 5] as number;
        let classId = 0;
        for (let c = 1; c < classes; c++) {
          const v = output[base + 5 + c] as number;
          if (v > best) {
            best = v;
            classId = c;
          }
        }
        const score = objectness * best;
        if (!(score >= confidence)) continue;
        const cx = ((output[base] as number) + gx) * s;
        const cy = ((output[base + 1] as number) + gy) * s;
        const w = Math.exp(output[base + 2] as number) * s;
        const h = Math.exp(output[base + 3] as number) * s;
        found.push({ x1: cx - w / 2, y1: cy - h / 2, x2: cx + w / 2, y2: cy + h / 2, score, classId });
      }
    }
  }
  return found;
}

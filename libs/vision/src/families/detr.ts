import { ModelError } from '../errors';
import { COCO_LABELS } from '../labels/coco';
import type { ExtraInput, TensorIo } from '../model-spec';
import { type Candidate, type ModelFamilyDefinition, fixed, names, shape } from './family';

/** The extra input of the export convention: the size, in pixels, the boxes are scaled to. */
const TARGET_SIZES = 'orig_target_sizes';
const OUTPUTS = ['labels', 'boxes', 'scores'] as const;
const INPUT_TYPES: readonly ExtraInput['type'][] = ['int64', 'int32', 'float32'];

/**
 * The DETR-family export convention shared by RT-DETR, D-FINE, DEIM and DEIMv2 (their
 * tools/deployment/export_onnx.py): inputs `images` [N,3,H,W] and `orig_target_sizes` [N,2]
 * (width, height), outputs `labels` [N,Q] (class ids), `boxes` [N,Q,4] (x1, y1, x2, y2 in
 * orig_target_sizes pixels) and `scores` [N,Q] (already sigmoid). The postprocessor inside the
 * graph has already picked one query per object, so there is no NMS. Exports often squeeze a
 * batch of 1 out of the outputs ([Q], [Q,4]); both shapes are read.
 *
 * Preprocessing follows the upstream reference script (tools/inference/onnx_inf.py): resize
 * keeping the aspect ratio to int(w*r) x int(h*r), paste at floor((W-w')/2), floor((H-h')/2) on
 * a black canvas, RGB /255 without mean/std (the small sizes; larger ones set mean and std in
 * model.json), and orig_target_sizes = the canvas [W, H], so boxes come back in input pixels and
 * are mapped to the photo like any letterboxed box. The resize is sharp's linear kernel on the
 * whole decoded image (no shrink-on-load), the counterpart of the script's bilinear resize; the
 * measured alternatives are in docs/adr/0014.
 */
export const DETR: ModelFamilyDefinition = {
  name: 'detr',
  expected: (input) =>
    `a DETR-family export (RT-DETR, D-FINE, DEIM) with inputs "${input.tensor.name}" [batch, 3, ${input.height}, ${input.width}] and ` +
    `"${TARGET_SIZES}" [batch, 2] and outputs "labels" [batch, queries], "boxes" [batch, queries, 4], "scores" [batch, queries] ` +
    `(or the same without the batch dimension)`,
  recognise(io, input, overrides) {
    const sizes = io.inputs.find((t) => t.name === TARGET_SIZES);
    if (!sizes) return { ok: false, reason: `no input "${TARGET_SIZES}" among ${names(io.inputs)}` };
    if (sizes.shape.length !== 2 || (fixed(sizes.shape[1]) ?? 2) !== 2) {
      return { ok: false, reason: `input "${TARGET_SIZES}" is ${shape(sizes)}; expected [batch, 2]` };
    }
    const type = (sizes.type ?? 'int64') as ExtraInput['type'];
    if (!INPUT_TYPES.includes(type)) return { ok: false, reason: `input "${TARGET_SIZES}" is ${sizes.type}; expected int64` };
    const others = io.inputs.filter((t) => t !== input.tensor && t !== sizes);
    if (others.length > 0) return { ok: false, reason: `inputs ${names(others)} are not part of the convention` };
    if (overrides.outputName !== undefined) {
      return { ok: false, reason: `model.json names output "${overrides.outputName}", but a DETR head reads "labels", "boxes" and "scores"` };
    }
    const found = OUTPUTS.map((name) => io.outputs.find((t) => t.name === name));
    const [labels, boxes, scores] = found;
    if (!labels || !boxes || !scores) {
      const missing = OUTPUTS.filter((_, i) => !found[i]);
      return { ok: false, reason: `no output ${missing.map((m) => `"${m}"`).join(', ')} among ${names(io.outputs)}` };
    }
    const perQuery = (t: TensorIo, rank: number, last?: number) =>
      (t.shape.length === rank || t.shape.length === rank + 1) && (last === undefined || (fixed(t.shape.at(-1)) ?? last) === last);
    if (!perQuery(labels, 1) || !perQuery(boxes, 2, 4) || !perQuery(scores, 1)) {
      return { ok: false, reason: `outputs ${names([labels, boxes, scores])} are not [batch,] queries, [batch,] queries x 4, [batch,] queries` };
    }
    // Usually symbolic after the export squeezes the batch out: then the first run measures it.
    const queries = fixed(scores.shape.at(-1)) ?? fixed(labels.shape.at(-1)) ?? fixed(boxes.shape.at(-2)) ?? 0;
    return {
      ok: true,
      head: {
        outputs: [
          { name: 'labels', size: queries },
          { name: 'boxes', size: 4 * queries },
          { name: 'scores', size: queries },
        ],
        extraInputs: [{ name: TARGET_SIZES, type, values: [input.width, input.height] }],
        // Class ids carry no class count: the labels say it, COCO's 80 otherwise.
        numClasses: overrides.labels?.length ?? COCO_LABELS.length,
        numAnchors: queries,
      },
    };
  },
  preprocessing: { placement: 'centre-floored', kernel: 'linear', shrinkOnLoad: false, padValue: 0, channels: 'rgb', divisor: 255, mean: [0, 0, 0], std: [1, 1, 1] },
  nms: false,
  decode: (output, spec, confidence) => decodeDetr(output, spec.numAnchors, confidence),
  settle(spec) {
    const [labels, boxes, scores] = spec.outputs.map((o) => o.size);
    if (labels === undefined || labels === 0 || boxes !== 4 * labels || scores !== labels) {
      throw new ModelError(
        'invalid_model',
        `a DETR head gives labels, boxes and scores for the same queries; this one gives ${labels}, ${boxes} and ${scores} values per image`,
      );
    }
    return { ...spec, numAnchors: labels };
  },
};

/**
 * Decodes one image's DETR outputs laid end to end (labels [Q], boxes [Q,4] x1y1x2y2 in
 * model-input pixels, scores [Q]) into candidates with score >= confidence; a label that is not
 * a class index (negative, fractional, NaN) is skipped.
 */
export function decodeDetr(output: Float32Array, queries: number, confidence: number): Candidate[] {
  if (output.length !== 6 * queries) {
    throw new ModelError('inference_failed', `DETR outputs hold ${output.length} values; expected ${queries} queries x (label, 4 box values, score)`);
  }
  const found: Candidate[] = [];
  const scores = 5 * queries;
  for (let q = 0; q < queries; q++) {
    const score = output[scores + q] as number;
    if (!(score >= confidence)) continue;
    const classId = output[q] as number;
    if (!(Number.isInteger(classId) && classId >= 0)) continue;
    const b = queries + 4 * q;
    found.push({ x1: output[b] as number, y1: output[b + 1] as number, x2: output[b + 2] as number, y2: output[b + 3] as number, score, classId });
  }
  return found;
}

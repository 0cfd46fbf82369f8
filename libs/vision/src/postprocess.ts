import type { DetectParams, Detection } from '@argus/contracts';
import type { Candidate } from './families/family';
import { familyOf } from './families/registry';
import type { Letterbox } from './letterbox';
import type { ModelSpec } from './model-spec';
import { nms } from './nms';

/** The image a model output belongs to: its letterbox and displayed size. */
export interface PostprocessImage {
  letterbox: Letterbox;
  width: number;
  height: number;
}

/**
 * One image's raw output -> detections in displayed-image pixels: decoded by the model's family,
 * thresholded, class-filtered, NMS (class-aware unless params.agnostic) for families whose
 * candidates overlap, clipped, at most params.maxDetections, best score first. A DETR head has
 * already chosen one query per object, so params.iou and params.agnostic do not apply to it.
 */
export function postprocess(
  output: Float32Array,
  spec: ModelSpec,
  image: PostprocessImage,
  params: DetectParams,
): Detection[] {
  const family = familyOf(spec.family);
  const candidates = family.decode(output, spec, params.confidence);
  const { scale, padX, padY } = image.letterbox;
  const { width, height } = image;
  const allowed = params.classes ? new Set(params.classes) : undefined;
  const mapped: Candidate[] = [];
  for (const c of candidates) {
    if (allowed && !allowed.has(c.classId)) continue;
    c.x1 = (c.x1 - padX) / scale;
    c.y1 = (c.y1 - padY) / scale;
    c.x2 = (c.x2 - padX) / scale;
    c.y2 = (c.y2 - padY) / scale;
    // A box lying wholly in the padding has nothing of the image in it.
    if (Math.min(c.x2, width) <= Math.max(c.x1, 0) || Math.min(c.y2, height) <= Math.max(c.y1, 0)) continue;
    mapped.push(c);
  }
  // NMS on the unclipped boxes, then clip, as Ultralytics does.
  const kept = family.nms
    ? nms(mapped, params.iou, { agnostic: params.agnostic, maxDetections: params.maxDetections })
    : best(mapped, params.maxDetections);
  return kept.map((c) => ({
    label: spec.labels[c.classId] ?? `class_${c.classId}`,
    classId: c.classId,
    score: c.score,
    box: { x1: clamp(c.x1, width), y1: clamp(c.y1, height), x2: clamp(c.x2, width), y2: clamp(c.y2, height) },
  }));
}

/** The highest-scoring candidates, best first; equal scores keep their decode order. */
function best(candidates: Candidate[], max: number): Candidate[] {
  return candidates.sort((p, q) => q.score - p.score).slice(0, max);
}

function clamp(v: number, max: number): number {
  return v < 0 ? 0 : v > max ? max : v;
}

import type { DetectParams, Detection } from '@argus/contracts';
import type { Candidate } from './decoders/candidate';
import { decodeYolov8 } from './decoders/yolov8';
import { decodeYolox } from './decoders/yolox';
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
 * One image's raw output -> detections in displayed-image pixels: decoded, thresholded,
 * class-filtered, NMS (class-aware unless params.agnostic), clipped, at most
 * params.maxDetections, best score first.
 */
export function postprocess(
  output: Float32Array,
  spec: ModelSpec,
  image: PostprocessImage,
  params: DetectParams,
): Detection[] {
  let candidates: Candidate[];
  switch (spec.family) {
    case 'yolox':
      candidates = decodeYolox(output, spec, params.confidence);
      break;
    case 'yolov8':
      candidates = decodeYolov8(output, spec, params.confidence);
      break;
  }
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
  const kept = nms(mapped, params.iou, { agnostic: params.agnostic, maxDetections: params.maxDetections });
  return kept.map((c) => ({
    label: spec.labels[c.classId] ?? `class_${c.classId}`,
    classId: c.classId,
    score: c.score,
    box: { x1: clamp(c.x1, width), y1: clamp(c.y1, height), x2: clamp(c.x2, width), y2: clamp(c.y2, height) },
  }));
}

function clamp(v: number, max: number): number {
  return v < 0 ? 0 : v > max ? max : v;
}

export { COCO_LABELS } from './labels/coco';
export { ModelError, isModelError, type ModelErrorCode } from './errors';
export { type Letterbox, letterboxGeometry, pythonRound } from './letterbox';
export {
  type ModelOverrides,
  ModelOverridesSchema,
  type ModelSpec,
  type TensorIo,
  STRIDES,
  describeModel,
  gridAnchors,
} from './model-spec';
export { type ModelEntry, scanModelRepository } from './model-repository';
export { DEFAULT_DECODE, type DecodeOptions, PAD_VALUE, type PreparedImage, preprocess } from './preprocess';
export type { Candidate, HeadShape } from './decoders/candidate';
export { decodeYolox } from './decoders/yolox';
export { decodeYolov8 } from './decoders/yolov8';
export { boxIou, nms } from './nms';
export { type PostprocessImage, postprocess } from './postprocess';
export { DetectorSession, type SessionOptions } from './session';
export { ImageSlot, SharedSlots } from './slots';
export { type DetectOutcome, Detector, type DetectorOptions, type StageTimings, toErrorInfo } from './detector';

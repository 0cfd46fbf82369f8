export { COCO_LABELS } from './labels/coco';
export { ModelError, isModelError, type ModelErrorCode } from './errors';
export { type Letterbox, letterboxGeometry, pythonRound } from './letterbox';
export {
  type ExtraInput,
  type ModelIo,
  type ModelOverrides,
  ModelOverridesSchema,
  type ModelSpec,
  type OutputSpec,
  type Placement,
  type Preprocessing,
  type TensorIo,
  describeModel,
  outputFloats,
  settleOutputs,
} from './model-spec';
export {
  type DigestCache,
  type ModelConfig,
  ModelConfigSchema,
  type ModelEntry,
  type RepositoryModel,
  type ServedVersion,
  type UnreadableVersion,
  type VersionEntry,
  type VersionSelection,
  primaryEntry,
  readModelFile,
  scanModelRepository,
} from './model-repository';
// The pure version helpers live in the contracts (the gateway picks versions too); here for the lib's users.
export {
  type VersionPolicy,
  VersionPolicySchema,
  type VersionWeights,
  VersionWeightsSchema,
  type WeightedVersion,
  compareVersions,
  pickVersion,
  primaryVersion,
  selectVersions,
} from '@argus/contracts';
export { DEFAULT_DECODE, type DecodeOptions, PAD_VALUE, type PreparedImage, preprocess } from './preprocess';
export type { Candidate, HeadShape, Head, ImageInput, ModelFamilyDefinition, Recognition } from './families/family';
export { FAMILIES, familyOf } from './families/registry';
export { STRIDES, gridAnchors } from './families/yolo-grid';
export { YOLOX, decodeYolox } from './families/yolox';
export { YOLOV8, decodeYolov8 } from './families/yolov8';
export { DETR, decodeDetr } from './families/detr';
export { boxIou, nms } from './nms';
export { type PostprocessImage, postprocess } from './postprocess';
export { DetectorSession, type SessionOptions } from './session';
export { ImageSlot, SharedSlots } from './slots';
export { type DetectOutcome, Detector, type DetectorOptions, type StageTimings, toErrorInfo } from './detector';

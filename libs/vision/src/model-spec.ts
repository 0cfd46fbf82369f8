import { type ModelFamily, ModelFamilySchema } from '@argus/contracts';
import type sharp from 'sharp';
import { z } from 'zod';
import { ModelError } from './errors';
import { type Head, type ImageInput, type ModelFamilyDefinition, fixed, invalid, names, shape } from './families/family';
import { FAMILIES, familyOf } from './families/registry';
import { COCO_LABELS } from './labels/coco';

const Rgb = z.tuple([z.number().finite(), z.number().finite(), z.number().finite()]);

/**
 * `<model>/model.json`'s settings of how the model is read and run (the repository adds its
 * version policy and weights). Strict, so that a misspelt key is an error at load rather than a
 * setting silently ignored.
 */
export const ModelOverridesSchema = z.strictObject({
  family: ModelFamilySchema.optional(),
  labels: z.array(z.string().min(1)).min(1).optional(),
  confidence: z.number().min(0).max(1).optional(),
  iou: z.number().min(0).max(1).optional(),
  maxDetections: z.number().int().positive().max(10000).optional(),
  inputName: z.string().min(1).optional(),
  outputName: z.string().min(1).optional(),
  /** Only used when the model's own input width is symbolic. */
  inputWidth: z.number().int().positive().optional(),
  /** Only used when the model's own input height is symbolic. */
  inputHeight: z.number().int().positive().optional(),
  /**
   * Per-colour mean and standard deviation (R, G, B, on the family's scale: 0..1 for the
   * Ultralytics and DETR families) for exports trained with them, e.g. the larger DEIM sizes
   * with ImageNet's [0.485, 0.456, 0.406] and [0.229, 0.224, 0.225]; the family's default is none.
   */
  mean: Rgb.optional(),
  std: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]).optional(),
});
export type ModelOverrides = z.infer<typeof ModelOverridesSchema>;

/** An input or output as ONNX Runtime reports it; symbolic dimensions are strings (or -1). */
export interface TensorIo {
  name: string;
  shape: readonly (number | string)[];
  /** Element type ('float32', 'int64', ...), when known. */
  type?: string;
}

/** A model's inputs and outputs. */
export interface ModelIo {
  inputs: readonly TensorIo[];
  outputs: readonly TensorIo[];
}

/**
 * Where the resized image sits in the model input: 'top-left' (YOLOX: size truncated, padding
 * right and below), 'centre-rounded' (Ultralytics: size rounded half to even, left/top =
 * round(d - 0.1)), 'centre-floored' (RT-DETR, D-FINE, DEIM: size truncated, left/top = floor(d)).
 */
export type Placement = 'top-left' | 'centre-rounded' | 'centre-floored';

/** How an image becomes a family's input tensor: value = (pixel / divisor - mean) / std, per colour. */
export interface Preprocessing {
  placement: Placement;
  /** sharp's resampling kernel, the one closest to how the family's references resize. */
  kernel: keyof sharp.KernelEnum;
  /** Whether big JPEG/WebP may decode at 1/2, 1/4 or 1/8 size first (sharp's fastShrinkOnLoad). */
  shrinkOnLoad: boolean;
  /** Grey level (0..255) of the padding and of transparent areas. */
  padValue: number;
  /** Order of the colour planes in the tensor. */
  channels: 'rgb' | 'bgr';
  /** 1 keeps 0..255, 255 gives 0..1. */
  divisor: number;
  /** Per colour, R, G, B. */
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
}

/** One output read by the decoder, and how many values it holds per image. */
export interface OutputSpec {
  name: string;
  /** Values per image; 0 while the model leaves it symbolic (a first run measures it). */
  size: number;
}

/** An input besides the image, the same for every image of a batch: a tensor [batch, ...values]. */
export interface ExtraInput {
  name: string;
  type: 'int64' | 'int32' | 'float32';
  values: readonly number[];
}

/** Everything preprocessing, the session and the decoders need to know about a model. */
export interface ModelSpec {
  family: ModelFamily;
  inputName: string;
  inputWidth: number;
  inputHeight: number;
  dynamicBatch: boolean;
  numClasses: number;
  labels: string[];
  /**
   * Candidate boxes per image: grid cells over strides 8, 16 and 32 for YOLO heads (3549 at
   * 416x416, 8400 at 640x640), queries for DETR heads (0 until a first run measures a symbolic count).
   */
  numAnchors: number;
  /** The outputs the decoder reads, in the order their values are laid out per image. */
  outputs: OutputSpec[];
  /** Inputs besides the image (DETR's orig_target_sizes). */
  extraInputs: ExtraInput[];
  preprocessing: Preprocessing;
}

/**
 * Recognises the family from the model's inputs and outputs (each family in the registry tries,
 * in order; model.json's `family` forces one) and reads the layout; anything no family accepts is
 * refused with ModelError('invalid_model') naming what each family expected.
 */
export function describeModel(io: ModelIo, overrides: ModelOverrides = {}): ModelSpec {
  const input = pickImageInput(io.inputs, overrides.inputName);
  const [batch, channels, h, w] = input.shape;
  if (channels !== 3) {
    invalid(`input "${input.name}" is ${shape(input)}; expected [batch, 3, height, width] (NCHW, 3 colour channels)`);
  }
  const inputHeight = fixed(h) ?? overrides.inputHeight;
  const inputWidth = fixed(w) ?? overrides.inputWidth;
  if (inputHeight === undefined || inputWidth === undefined) {
    invalid(`input "${input.name}" is ${shape(input)} with a symbolic size; set inputWidth and inputHeight in model.json`);
  }
  const staticBatch = fixed(batch);
  if (staticBatch !== undefined && staticBatch !== 1) {
    invalid(`input "${input.name}" has a fixed batch of ${staticBatch}; export the model with batch 1 or a dynamic batch`);
  }
  const image: ImageInput = { tensor: input, width: inputWidth, height: inputHeight };
  const { family, head } = recognise(io, image, overrides);
  let labels: string[];
  if (overrides.labels) {
    if (overrides.labels.length !== head.numClasses) {
      invalid(`model.json lists ${overrides.labels.length} labels but the model predicts ${head.numClasses} classes`);
    }
    labels = [...overrides.labels];
  } else if (head.numClasses === COCO_LABELS.length) {
    labels = [...COCO_LABELS];
  } else {
    labels = Array.from({ length: head.numClasses }, (_, i) => `class_${i}`);
  }
  const defaults = family.preprocessing;
  return {
    family: family.name,
    inputName: input.name,
    inputWidth,
    inputHeight,
    dynamicBatch: staticBatch === undefined,
    numClasses: head.numClasses,
    labels,
    numAnchors: head.numAnchors,
    outputs: head.outputs,
    extraInputs: head.extraInputs,
    preprocessing: { ...defaults, mean: overrides.mean ?? defaults.mean, std: overrides.std ?? defaults.std },
  };
}

/**
 * The spec with the per-image output sizes a first run measured filled in (a DETR export may
 * leave its query count symbolic); a size that contradicts the model's own metadata, or that the
 * family finds inconsistent, is ModelError('invalid_model').
 */
export function settleOutputs(spec: ModelSpec, sizes: readonly number[]): ModelSpec {
  if (sizes.length !== spec.outputs.length) {
    throw new ModelError('invalid_model', `a run returned ${sizes.length} outputs; the model declares ${spec.outputs.length}`);
  }
  const outputs = spec.outputs.map((o, i) => {
    const measured = sizes[i] as number;
    if (o.size !== 0 && o.size !== measured) {
      throw new ModelError('invalid_model', `output "${o.name}" holds ${measured} values per image; its shape says ${o.size}`);
    }
    return { name: o.name, size: measured };
  });
  return familyOf(spec.family).settle({ ...spec, outputs });
}

/** Values per image across the outputs the decoder reads (one image's slot of output memory). */
export function outputFloats(spec: ModelSpec): number {
  return spec.outputs.reduce((sum, o) => sum + o.size, 0);
}

/** The family model.json forces, else the first in the registry that accepts the layout. */
function recognise(io: ModelIo, image: ImageInput, overrides: ModelOverrides): { family: ModelFamilyDefinition; head: Head } {
  if (overrides.family) {
    const family = familyOf(overrides.family);
    const result = family.recognise(io, image, overrides);
    if (!result.ok) {
      invalid(`model.json sets family "${family.name}", but this is not a ${family.name} head: ${result.reason}; expected ${family.expected(image)}`);
    }
    return { family, head: result.head };
  }
  const reasons: string[] = [];
  for (const family of Object.values(FAMILIES)) {
    const result = family.recognise(io, image, overrides);
    if (result.ok) return { family, head: result.head };
    reasons.push(result.reason);
  }
  const expected = Object.values(FAMILIES).map((f) => f.expected(image));
  // Families that read the same output give the same reason: say it once.
  invalid(`${[...new Set(reasons)].join('; ')}; expected ${expected.join(', or ')}`);
}

function pickImageInput(list: readonly TensorIo[], name: string | undefined): TensorIo {
  if (name !== undefined) {
    const found = list.find((t) => t.name === name);
    if (!found) invalid(`model.json names input "${name}", but the model's inputs are ${names(list)}`);
    if (found.shape.length !== 4) invalid(`input "${name}" is ${shape(found)}; expected 4 dimensions`);
    return found;
  }
  const candidates = list.filter((t) => t.shape.length === 4);
  const [only] = candidates;
  if (!only) invalid(`no input with 4 dimensions among ${names(list)}`);
  if (candidates.length > 1) invalid(`several inputs with 4 dimensions (${names(candidates)}); set inputName in model.json`);
  return only;
}

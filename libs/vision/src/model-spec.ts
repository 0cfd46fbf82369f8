import { type ModelFamily, ModelFamilySchema } from '@argus/contracts';
import { z } from 'zod';
import { ModelError } from './errors';
import { COCO_LABELS } from './labels/coco';

/**
 * `<model>/model.json`: what to use instead of what is read from the model. Strict, so that a
 * misspelt key is an error at load rather than a setting silently ignored.
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
});
export type ModelOverrides = z.infer<typeof ModelOverridesSchema>;

/** Everything preprocessing, the session and the decoders need to know about a model. */
export interface ModelSpec {
  family: ModelFamily;
  inputName: string;
  outputName: string;
  inputWidth: number;
  inputHeight: number;
  dynamicBatch: boolean;
  numClasses: number;
  labels: string[];
  /** Grid cells over strides 8, 16 and 32 (3549 at 416x416, 8400 at 640x640). */
  numAnchors: number;
}

/** An input or output as ONNX Runtime reports it; symbolic dimensions are strings (or -1). */
export interface TensorIo {
  name: string;
  shape: readonly (number | string)[];
}

/** The head strides of YOLOX and Ultralytics detectors. */
export const STRIDES: readonly number[] = [8, 16, 32];

/** Anchor points of a stride-8/16/32 grid over an input of this size. */
export function gridAnchors(inputWidth: number, inputHeight: number): number {
  let n = 0;
  for (const s of STRIDES) n += Math.floor(inputHeight / s) * Math.floor(inputWidth / s);
  return n;
}

/**
 * Recognises the family from the model's inputs and outputs (YOLOX [B,N,5+C]; Ultralytics
 * YOLOv8/YOLO11 [B,4+C,N]); anything else is refused with ModelError('invalid_model').
 */
export function describeModel(
  io: { inputs: readonly TensorIo[]; outputs: readonly TensorIo[] },
  overrides: ModelOverrides = {},
): ModelSpec {
  const input = pick(io.inputs, 'input', overrides.inputName, 4);
  const output = pick(io.outputs, 'output', overrides.outputName, 3);
  const [batch, channels, h, w] = input.shape;
  if (channels !== 3) {
    invalid(`input "${input.name}" is ${shape(input)}; expected [batch, 3, height, width] (NCHW, 3 colour channels)`);
  }
  const inputHeight = fixed(h) ?? overrides.inputHeight;
  const inputWidth = fixed(w) ?? overrides.inputWidth;
  if (inputHeight === undefined || inputWidth === undefined) {
    invalid(`input "${input.name}" is ${shape(input)} with a symbolic size; set inputWidth and inputHeight in model.json`);
  }
  if (inputWidth % 32 !== 0 || inputHeight % 32 !== 0) {
    invalid(`input "${input.name}" is ${inputWidth}x${inputHeight}; detection heads with stride 32 need multiples of 32`);
  }
  const staticBatch = fixed(batch);
  if (staticBatch !== undefined && staticBatch !== 1) {
    invalid(`input "${input.name}" has a fixed batch of ${staticBatch}; export the model with batch 1 or a dynamic batch`);
  }
  const numAnchors = gridAnchors(inputWidth, inputHeight);
  const [, d1, d2] = output.shape;
  const a = fixed(d1);
  const b = fixed(d2);
  const expected =
    `YOLOX [batch, ${numAnchors}, 5+classes] or Ultralytics YOLOv8/YOLO11 [batch, 4+classes, ${numAnchors}] ` +
    `for a ${inputWidth}x${inputHeight} input`;
  let family: ModelFamily;
  if (overrides.family) family = overrides.family;
  else if (a === numAnchors && b !== undefined && b >= 6) family = 'yolox';
  else if (b === numAnchors && a !== undefined && a >= 5) family = 'yolov8';
  else {
    const hint = a === numAnchors * 3 ? ' (three anchors per cell: an anchor-based YOLOv5/v7 head, which is not supported)' : '';
    invalid(`output "${output.name}" is ${shape(output)}${hint}; expected ${expected}`);
  }
  const anchorsDim = family === 'yolox' ? d1 : d2;
  const classDim = family === 'yolox' ? b : a;
  const perAnchor = family === 'yolox' ? 5 : 4;
  if ((fixed(anchorsDim) ?? numAnchors) !== numAnchors || classDim === undefined || classDim <= perAnchor) {
    invalid(`output "${output.name}" is ${shape(output)}, which is not a ${family} head; expected ${expected}`);
  }
  const numClasses = classDim - perAnchor;
  let labels: string[];
  if (overrides.labels) {
    if (overrides.labels.length !== numClasses) {
      invalid(`model.json lists ${overrides.labels.length} labels but the model predicts ${numClasses} classes`);
    }
    labels = [...overrides.labels];
  } else if (numClasses === COCO_LABELS.length) {
    labels = [...COCO_LABELS];
  } else {
    labels = Array.from({ length: numClasses }, (_, i) => `class_${i}`);
  }
  return {
    family,
    inputName: input.name,
    outputName: output.name,
    inputWidth,
    inputHeight,
    dynamicBatch: staticBatch === undefined,
    numClasses,
    labels,
    numAnchors,
  };
}

function pick(list: readonly TensorIo[], role: 'input' | 'output', name: string | undefined, rank: number): TensorIo {
  if (name !== undefined) {
    const found = list.find((t) => t.name === name);
    if (!found) invalid(`model.json names ${role} "${name}", but the model's ${role}s are ${names(list)}`);
    if (found.shape.length !== rank) invalid(`${role} "${name}" is ${shape(found)}; expected ${rank} dimensions`);
    return found;
  }
  const candidates = list.filter((t) => t.shape.length === rank);
  const [only] = candidates;
  if (!only) invalid(`no ${role} with ${rank} dimensions among ${names(list)}`);
  if (candidates.length > 1) invalid(`several ${role}s with ${rank} dimensions (${names(candidates)}); set ${role}Name in model.json`);
  return only;
}

function fixed(d: number | string | undefined): number | undefined {
  return typeof d === 'number' && d > 0 ? d : undefined;
}

function shape(t: TensorIo): string {
  return `[${t.shape.join(', ')}]`;
}

function names(list: readonly TensorIo[]): string {
  return list.length ? list.map((t) => `"${t.name}" ${shape(t)}`).join(', ') : '(none)';
}

function invalid(message: string): never {
  throw new ModelError('invalid_model', `unsupported model layout: ${message}`);
}

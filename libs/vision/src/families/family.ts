import type { ModelFamily } from '@argus/contracts';
import { ModelError } from '../errors';
import type { ExtraInput, ModelIo, ModelOverrides, ModelSpec, OutputSpec, Preprocessing, TensorIo } from '../model-spec';

/** A scored box before NMS, in whatever pixel frame the caller is working in. */
export interface Candidate {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  score: number;
  classId: number;
}

/** The part of a model spec a decoder reads. */
export interface HeadShape {
  inputWidth: number;
  inputHeight: number;
  numClasses: number;
  numAnchors: number;
}

/** The model's image input, already checked (NCHW, 3 channels, a known size, batch 1 or dynamic). */
export interface ImageInput {
  tensor: TensorIo;
  width: number;
  height: number;
}

/** What a family reads from the model beyond its image input. */
export interface Head {
  outputs: OutputSpec[];
  extraInputs: ExtraInput[];
  numClasses: number;
  numAnchors: number;
}

/** A family's answer to a layout: its head, or why the layout is not one of its own. */
export type Recognition = { ok: true; head: Head } | { ok: false; reason: string };

/**
 * One output convention (a model family): how it is recognised, what it needs besides the
 * image, how images are prepared for it and how its outputs become boxes. Each family is one
 * module; families/registry.ts lists them.
 */
export interface ModelFamilyDefinition {
  readonly name: ModelFamily;
  /** The layout it accepts for this input, in words, for an error that names what was expected. */
  expected(input: ImageInput): string;
  /** Reads the head from the model's inputs and outputs, or says why they are not this family's. */
  recognise(io: ModelIo, input: ImageInput, overrides: ModelOverrides): Recognition;
  /** Placement, padding, channel order and scale the family was trained with. */
  readonly preprocessing: Preprocessing;
  /** Whether its candidates overlap and need NMS (a DETR head gives one query per object: no). */
  readonly nms: boolean;
  /**
   * One image's output values (spec.outputs laid end to end) -> candidates with score >=
   * confidence, in model-input pixels. Throws ModelError('inference_failed') on a wrong size.
   */
  decode(output: Float32Array, spec: ModelSpec, confidence: number): Candidate[];
  /** Checks output sizes measured on a first run and fills in what they tell (e.g. a query count). */
  settle(spec: ModelSpec): ModelSpec;
}

/** A dimension's size when the model fixes it. */
export function fixed(d: number | string | undefined): number | undefined {
  return typeof d === 'number' && d > 0 ? d : undefined;
}

/** A tensor's shape as `[a, b, c]`. */
export function shape(t: TensorIo): string {
  return `[${t.shape.join(', ')}]`;
}

/** Tensors with their shapes, for messages. */
export function names(list: readonly TensorIo[]): string {
  return list.length ? list.map((t) => `"${t.name}" ${shape(t)}`).join(', ') : '(none)';
}

/** Refuses a model layout. */
export function invalid(message: string): never {
  throw new ModelError('invalid_model', `unsupported model layout: ${message}`);
}

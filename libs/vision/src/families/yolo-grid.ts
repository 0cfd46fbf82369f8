import type { ModelIo, ModelOverrides, TensorIo } from '../model-spec';
import { type ImageInput, fixed, names, shape } from './family';

// What the two anchor-free YOLO heads (YOLOX, Ultralytics) share: one output of rank 3 over a
// stride-8/16/32 grid.

/** The head strides of YOLOX and Ultralytics detectors. */
export const STRIDES: readonly number[] = [8, 16, 32];

/** Anchor points of a stride-8/16/32 grid over an input of this size. */
export function gridAnchors(inputWidth: number, inputHeight: number): number {
  let n = 0;
  for (const s of STRIDES) n += Math.floor(inputHeight / s) * Math.floor(inputWidth / s);
  return n;
}

/** A YOLO head's output as read from the model: [batch, d1, d2], or why there is none. */
export type GridOutput = { ok: true; output: TensorIo; anchors: number; d1: number | undefined; d2: number | undefined } | { ok: false; reason: string };

/**
 * Picks the one rank-3 output (or the one model.json names) and checks the input suits a
 * stride-32 grid; both YOLO families give the same reasons, so a refusal is said once.
 */
export function gridOutput(io: ModelIo, input: ImageInput, overrides: ModelOverrides): GridOutput {
  let output: TensorIo;
  if (overrides.outputName !== undefined) {
    const found = io.outputs.find((t) => t.name === overrides.outputName);
    if (!found) return { ok: false, reason: `model.json names output "${overrides.outputName}", but the model's outputs are ${names(io.outputs)}` };
    if (found.shape.length !== 3) return { ok: false, reason: `output "${found.name}" is ${shape(found)}; expected 3 dimensions` };
    output = found;
  } else {
    const candidates = io.outputs.filter((t) => t.shape.length === 3);
    const [only] = candidates;
    if (!only) return { ok: false, reason: `no output with 3 dimensions among ${names(io.outputs)}` };
    if (candidates.length > 1) return { ok: false, reason: `several outputs with 3 dimensions (${names(candidates)}); set outputName in model.json` };
    output = only;
  }
  if (input.width % 32 !== 0 || input.height % 32 !== 0) {
    return { ok: false, reason: `input "${input.tensor.name}" is ${input.width}x${input.height}; detection heads with stride 32 need multiples of 32` };
  }
  const [, d1, d2] = output.shape;
  return { ok: true, output, anchors: gridAnchors(input.width, input.height), d1: fixed(d1), d2: fixed(d2) };
}

/** Why a rank-3 output is not the head looked for (with a hint for anchor-based heads). */
export function notAGridHead(grid: Extract<GridOutput, { ok: true }>): string {
  const hint = grid.d1 === grid.anchors * 3 ? ' (three anchors per cell: an anchor-based YOLOv5/v7 head, which is not supported)' : '';
  return `output "${grid.output.name}" is ${shape(grid.output)}${hint}`;
}

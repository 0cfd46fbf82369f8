import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';

/**
 * A no-op detector for measuring the platform around the model: an ONNX model that takes a
 * [N,3,32,32] image and answers an Ultralytics-shaped head [N,5,21] of zeros (one class, the 21
 * anchors of a 32x32 grid at strides 8, 16 and 32), so every image has no box. Through the real
 * worker it costs a 32x32 letterbox and four trivial operators, where a detector costs tens of
 * milliseconds: what is left is the gateway, the queue, the worker's bookkeeping and Postgres.
 *
 * Written here as protobuf by hand (about forty lines) rather than by adding an ONNX or protobuf
 * library that nothing else in the project needs.
 */
export const NOOP_INPUT_SIZE = 32;
/** Anchors of a 32x32 input: (32/8)^2 + (32/16)^2 + (32/32)^2. */
const ANCHORS = 21;
const ROWS = 5; // cx, cy, w, h, one class score
const PIXELS = 3 * NOOP_INPUT_SIZE * NOOP_INPUT_SIZE;

const FLOAT = 1;
const INT64 = 7;

function varint(value: number): number[] {
  const out: number[] = [];
  let v = value;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

/** A length-delimited field (wire type 2). */
function bytesField(field: number, body: Uint8Array | number[] | string): number[] {
  const bytes = typeof body === 'string' ? [...Buffer.from(body, 'utf8')] : [...body];
  return [...varint((field << 3) | 2), ...varint(bytes.length), ...bytes];
}

/** A varint field (wire type 0). */
function intField(field: number, value: number): number[] {
  return [...varint(field << 3), ...varint(value)];
}

function node(op: string, inputs: string[], output: string): number[] {
  return bytesField(1, [...inputs.flatMap((i) => bytesField(1, i)), ...bytesField(2, output), ...bytesField(3, output), ...bytesField(4, op)]);
}

function int64Tensor(name: string, values: number[]): number[] {
  const raw = Buffer.alloc(values.length * 8);
  values.forEach((v, i) => raw.writeBigInt64LE(BigInt(v), i * 8));
  return bytesField(5, [...intField(1, values.length), ...intField(2, INT64), ...bytesField(8, name), ...bytesField(9, raw)]);
}

function scalarZero(name: string): number[] {
  return bytesField(5, [...intField(2, FLOAT), ...bytesField(8, name), ...bytesField(9, Buffer.alloc(4))]);
}

/** A float tensor value: dims as numbers, or strings for symbolic (the batch). */
function valueInfo(field: number, name: string, dims: (number | string)[]): number[] {
  const shape = dims.flatMap((d) => bytesField(1, typeof d === 'number' ? intField(1, d) : bytesField(2, d)));
  const tensorType = [...intField(1, FLOAT), ...bytesField(2, shape)];
  return bytesField(field, [...bytesField(1, name), ...bytesField(2, bytesField(1, tensorType))]);
}

/** The model's bytes (ONNX IR 8, opset 13). */
export function noopModel(): Buffer {
  const graph = [
    ...node('Reshape', ['images', 'flat_shape'], 'flat'),
    ...node('Slice', ['flat', 'starts', 'ends', 'axes'], 'head_values'),
    ...node('Mul', ['head_values', 'zero'], 'zeros'),
    ...node('Reshape', ['zeros', 'head_shape'], 'output0'),
    ...bytesField(2, 'noop'),
    ...int64Tensor('flat_shape', [-1, PIXELS]),
    ...int64Tensor('starts', [0]),
    ...int64Tensor('ends', [ROWS * ANCHORS]),
    ...int64Tensor('axes', [1]),
    ...scalarZero('zero'),
    ...int64Tensor('head_shape', [-1, ROWS, ANCHORS]),
    ...valueInfo(11, 'images', ['batch', 3, NOOP_INPUT_SIZE, NOOP_INPUT_SIZE]),
    ...valueInfo(12, 'output0', ['batch', ROWS, ANCHORS]),
  ];
  const opset = [...bytesField(1, ''), ...intField(2, 13)];
  return Buffer.from([...intField(1, 8), ...bytesField(2, 'argus-bench'), ...bytesField(7, graph), ...bytesField(8, opset)]);
}

/** A model repository holding only the no-op model, and a small JPEG to send it. */
export interface NoopSetup {
  repository: string;
  photo: string;
  /** Removes both. */
  remove(): Promise<void>;
}

/** Writes the no-op model (family set in model.json) and a 160x120 JPEG of noise to a temporary folder. */
export async function prepareNoop(model: string): Promise<NoopSetup> {
  const dir = await mkdtemp(join(tmpdir(), 'argus-noop-'));
  const repository = join(dir, 'models');
  await mkdir(join(repository, model), { recursive: true });
  await writeFile(join(repository, model, 'model.onnx'), noopModel());
  await writeFile(join(repository, model, 'model.json'), `${JSON.stringify({ family: 'yolov8' })}\n`);
  const photo = join(dir, 'small.jpg');
  await sharp({ create: { width: 160, height: 120, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } } })
    .jpeg({ quality: 80 })
    .toFile(photo);
  return { repository, photo, remove: () => rm(dir, { recursive: true, force: true }) };
}

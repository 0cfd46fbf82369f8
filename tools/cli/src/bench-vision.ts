import { type ArgusConfig, loadConfig } from '@argus/config';
import type { DetectParams } from '@argus/contracts';
import { testImage } from '@argus/testing';
import {
  DEFAULT_DECODE,
  type DecodeOptions,
  DetectorSession,
  type ModelEntry,
  type SessionOptions,
  postprocess,
  preprocess,
  primaryEntry,
  readModelFile,
  scanModelRepository,
} from '@argus/vision';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';

// Prints per-stage timings of the in-process pipeline; figures only, nothing is asserted.
// npm run bench:vision -- [--reps N] [--warmup N] [--threads N] [--images a.jpg,b.jpg]
//   [--models yolox-nano,yolov8n-int8] [--model-file path/to/model.onnx ...]

const DEFAULT_IMAGES = ['coco-000000002006-bus-640x480.jpg', 'bus.jpg', 'zidane.jpg', 'saw-2725x2225.jpg'];

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    reps: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '5' },
    threads: { type: 'string' },
    images: { type: 'string' },
    models: { type: 'string', default: 'yolox-nano,yolov8n-int8' },
    'model-file': { type: 'string', multiple: true },
  },
});
const reps = Number(values.reps);
const warmup = Number(values.warmup);
const images = (values.images?.split(',') ?? DEFAULT_IMAGES).map((f) => (f.includes('/') ? f : testImage(f)));
const config: ArgusConfig = loadConfig();
const limits = { maxBytes: config.limits.maxImageBytes, maxPixels: config.limits.maxImagePixels };
const params: DetectParams = {
  confidence: config.defaults.confidence,
  iou: config.defaults.iou,
  maxDetections: config.defaults.maxDetections,
  classes: null,
  agnostic: false,
};
const intraOpThreads = values.threads !== undefined ? Number(values.threads) : config.models.intraOpThreads;
const sessionOptions = (overrides: Partial<SessionOptions> = {}): SessionOptions => ({
  executionProviders: config.models.executionProviders,
  intraOpThreads,
  interOpThreads: config.models.interOpThreads,
  warmupRuns: config.models.warmupRuns,
  maxBatchSize: config.models.maxBatchSize,
  ...overrides,
});

interface Stats {
  mean: number;
  p50: number;
  p95: number;
}

function stats(samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;
  return { mean: sorted.reduce((a, b) => a + b, 0) / sorted.length, p50: rank(0.5), p95: rank(0.95) };
}

const ms = (v: number) => v.toFixed(2).padStart(8);
const row = (cells: (string | number)[], widths: number[]) => cells.map((c, i) => String(c).padEnd(widths[i] ?? 10)).join(' ');
const print = (line = '') => process.stdout.write(`${line}\n`);

async function repeat(fn: () => Promise<number | void>): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < reps; i++) {
    const started = performance.now();
    const measured = await fn();
    samples.push(typeof measured === 'number' ? measured : performance.now() - started);
  }
  return samples;
}

async function stages(session: DetectorSession): Promise<void> {
  const widths = [14, 36, 11, 12, 9, 9, 9];
  for (const path of images) {
    const bytes = readFileSync(path);
    const into = new Float32Array(3 * session.spec.inputWidth * session.spec.inputHeight);
    const pre: number[] = [];
    const inference: number[] = [];
    const post: number[] = [];
    let size = '';
    let found = 0;
    await repeat(async () => {
      const prepared = await preprocess(bytes, session.spec, limits, into);
      let t = performance.now();
      const [output] = await session.run([prepared.tensor]);
      const inferenceMs = performance.now() - t;
      t = performance.now();
      found = postprocess(output as Float32Array, session.spec, prepared, params).length;
      const postMs = performance.now() - t;
      size = `${prepared.width}x${prepared.height}`;
      pre.push(prepared.preprocessMs);
      inference.push(inferenceMs);
      post.push(postMs);
      return prepared.preprocessMs + inferenceMs + postMs;
    });
    // repeat() ran warm-up rounds too: keep the measured ones only.
    for (const list of [pre, inference, post]) list.splice(0, warmup);
    const total = pre.map((p, i) => p + (inference[i] ?? 0) + (post[i] ?? 0));
    const lines: [string, number[]][] = [
      ['decode+letterbox', pre],
      ['inference', inference],
      ['boxes (decode+NMS)', post],
      ['total', total],
    ];
    for (const [i, [stage, samples]] of lines.entries()) {
      const s = stats(samples);
      const extra = stage === 'total' ? `  ${(1000 / s.mean).toFixed(1)} images/s sequential, ${found} boxes` : '';
      print(row([i === 0 ? session.entry.name : '', i === 0 ? basename(path) : '', i === 0 ? size : '', stage, ms(s.mean), ms(s.p50), ms(s.p95)], [...widths.slice(0, 3), 19, 9, 9, 9]) + extra);
    }
  }
}

async function batching(session: DetectorSession): Promise<void> {
  const tensors = await Promise.all(
    Array.from({ length: 8 }, async (_, i) => (await preprocess(readFileSync(images[i % images.length] as string), session.spec, limits)).tensor),
  );
  print(`batch  ms/batch p50  ms/image  images/s   (${session.entry.name}, inference only, ${session.provider})`);
  for (const n of [1, 4, 8].filter((b) => b <= session.maxBatchSize)) {
    const s = stats(await repeat(async () => void (await session.run(tensors.slice(0, n)))));
    print(`${String(n).padEnd(6)} ${ms(s.p50)}     ${ms(s.p50 / n)}  ${(1000 / (s.p50 / n)).toFixed(1).padStart(8)}`);
  }
}

/**
 * The bare in-process pipeline over the same 8 images (the photos, cycled) at each batch size:
 * a chunk's decodes overlap on the libuv pool, then the model runs the chunk as one batch.
 */
async function pipeline(session: DetectorSession): Promise<void> {
  const files = Array.from({ length: 8 }, (_, i) => readFileSync(images[i % images.length] as string));
  for (const n of [1, 4, 8].filter((b) => b <= session.maxBatchSize)) {
    const s = stats(
      await repeat(async () => {
        for (let i = 0; i < files.length; i += n) {
          const prepared = await Promise.all(files.slice(i, i + n).map((b) => preprocess(b, session.spec, limits)));
          const outputs = await session.run(prepared.map((p) => p.tensor));
          prepared.forEach((p, j) => postprocess(outputs[j] as Float32Array, session.spec, p, params));
        }
      }),
    );
    print(`batch ${n}: ${ms(s.p50)} ms p50 for ${files.length} images, ${((1000 * files.length) / s.mean).toFixed(1)} images/s (mean)`);
  }
}

async function decodeVariants(session: DetectorSession): Promise<void> {
  const path = images[0] as string;
  const bytes = readFileSync(path);
  const variants: [string, DecodeOptions][] = [
    ['lanczos3, skip no-op sRGB conversion (default)', DEFAULT_DECODE],
    ['lanczos3, always convert ICC (sharp default)', { ...DEFAULT_DECODE, icc: 'convert' }],
    ['cubic, skip no-op sRGB conversion', { ...DEFAULT_DECODE, kernel: 'cubic' }],
    ['linear, skip no-op sRGB conversion', { ...DEFAULT_DECODE, kernel: 'linear' }],
  ];
  print(`decode+letterbox of ${basename(path)} for ${session.entry.name}:`);
  for (const [label, decode] of variants) {
    const s = stats(await repeat(async () => (await preprocess(bytes, session.spec, limits, undefined, decode)).preprocessMs));
    print(`  ${label.padEnd(48)} mean ${ms(s.mean)}  p50 ${ms(s.p50)}  p95 ${ms(s.p95)}`);
  }
}

async function threadSweep(entry: ModelEntry): Promise<void> {
  const file = readFileSync(images[0] as string);
  print(`inference p50 by intra-op threads (${entry.name}, batch 1, ${basename(images[0] as string)}):`);
  for (const threads of [1, 2, 0]) {
    const session = await DetectorSession.create(entry, sessionOptions({ intraOpThreads: threads, maxBatchSize: 1 }));
    const { tensor } = await preprocess(file, session.spec, limits);
    const s = stats(await repeat(async () => void (await session.run([tensor]))));
    print(`  ${threads === 0 ? '0 (ONNX Runtime default)' : String(threads).padEnd(24)} mean ${ms(s.mean)}  p50 ${ms(s.p50)}  p95 ${ms(s.p95)}`);
    await session.release();
  }
}

async function main(): Promise<void> {
  const repository = await scanModelRepository(config.models.repository);
  const files = await Promise.all((values['model-file'] ?? []).map((path) => readModelFile(path)));
  const ort = (await import('onnxruntime-node')).env.versions.common;
  print(`Argus vision benchmark: node ${process.version}, ${availableParallelism()} CPUs (${cpus()[0]?.model.trim() ?? 'unknown'})`);
  print(`sharp ${sharp.versions.sharp} (libvips ${sharp.versions.vips}, concurrency ${sharp.concurrency()}), onnxruntime-node ${ort}`);
  print(`intra-op threads ${intraOpThreads}${intraOpThreads === 0 ? ' (ONNX Runtime default: one per physical core)' : ''}, inter-op threads ${config.models.interOpThreads}; ${reps} runs after ${warmup} warm-up; times in ms`);
  const sessions: DetectorSession[] = [];
  const entries: ModelEntry[] = [];
  for (const name of values.models.split(',').filter((n) => n !== '')) {
    const model = repository.find((m) => m.name === name);
    if (model) entries.push(primaryEntry(model));
    else print(`(${name} is not in ${config.models.repository}; skipped)`);
  }
  for (const entry of [...entries, ...files]) {
    const session = await DetectorSession.create(entry, sessionOptions());
    sessions.push(session);
    print(`${entry.name} ${entry.version}: ${session.spec.family} ${session.spec.inputWidth}x${session.spec.inputHeight}, provider ${session.provider}, max batch ${session.maxBatchSize}, load ${session.loadMs.toFixed(0)} ms, warm-up ${session.warmupMs.toFixed(0)} ms`);
  }
  print();
  print(row(['model', 'image', 'size', 'stage', '    mean', '     p50', '     p95'], [14, 36, 11, 19, 9, 9, 9]));
  for (const session of sessions) await stages(session);
  const yolox = sessions.find((s) => s.entry.name === 'yolox-nano');
  if (yolox) {
    print();
    await batching(yolox);
    print();
    print(`bare pipeline (${yolox.entry.name}: decode+letterbox of a batch in parallel, one run per batch, boxes):`);
    await pipeline(yolox);
    print();
    await decodeVariants(yolox);
    print();
    await threadSweep(yolox.entry);
  }
  for (const session of sessions) await session.release();
}

main().then(
  () => undefined,
  (e: unknown) => {
    process.stderr.write(`bench:vision: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);

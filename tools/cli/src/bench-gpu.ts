import { loadConfig } from '@argus/config';
import type { DetectParams, Detection } from '@argus/contracts';
import { testImage } from '@argus/testing';
import { DetectorSession, boxIou, postprocess, preprocess, primaryEntry, scanModelRepository } from '@argus/vision';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

// The model part of the benchmark on a GPU: batch 1 against larger batches with the execution
// providers asked for (default cuda), images/s of inference alone, and whether every batch size
// finds the boxes the CPU finds. Run by hand on a machine with an NVIDIA GPU; figures only.
// npm run bench:gpu -- [--model yolox-nano] [--providers cuda] [--batches 1,4,8,16,32] [--reps 20] [--out FILE]

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    model: { type: 'string', default: 'yolox-nano' },
    providers: { type: 'string', default: 'cuda' },
    batches: { type: 'string', default: '1,4,8,16,32' },
    reps: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
    out: { type: 'string' },
  },
});
const PHOTOS = ['coco-000000002006-bus-640x480.jpg', 'bus.jpg', 'zidane.jpg', 'coco-000000000139-livingroom.jpg', 'darknet-dog.jpg'];
const batches = values.batches.split(',').map(Number);
const reps = Number(values.reps);
const warmup = Number(values.warmup);
const providers = values.providers.split(',').map((p) => p.trim());
const config = loadConfig();
const limits = { maxBytes: config.limits.maxImageBytes, maxPixels: config.limits.maxImagePixels };
const params: DetectParams = { confidence: config.defaults.confidence, iou: config.defaults.iou, maxDetections: config.defaults.maxDetections, classes: null, agnostic: false };
const print = (line = '') => process.stdout.write(`${line}\n`);

/** Whether two detection lists agree: same count, and each box matched by label with IoU >= 0.98 and scores within 0.01. */
function sameBoxes(a: Detection[], b: Detection[]): boolean {
  if (a.length !== b.length) return false;
  const left = [...b];
  return a.every((d) => {
    const i = left.findIndex((e) => e.classId === d.classId && boxIou(candidate(e), candidate(d)) >= 0.98 && Math.abs(e.score - d.score) <= 0.01);
    if (i < 0) return false;
    left.splice(i, 1);
    return true;
  });
}

function candidate(d: Detection) {
  return { ...d.box, score: d.score, classId: d.classId };
}

function p50(samples: number[]): number {
  const sorted = [...samples].sort((x, y) => x - y);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? NaN;
}

async function main(): Promise<void> {
  const model = (await scanModelRepository(config.models.repository)).find((m) => m.name === values.model);
  if (!model) throw new Error(`no model "${values.model}" in ${config.models.repository}`);
  const entry = primaryEntry(model);
  const maxBatch = Math.max(...batches);
  const base = { intraOpThreads: 0, interOpThreads: 0, warmupRuns: 2 };
  const device = await DetectorSession.create(entry, { ...base, executionProviders: providers, maxBatchSize: maxBatch });
  const cpu = await DetectorSession.create(entry, { ...base, executionProviders: ['cpu'], maxBatchSize: 1 });
  print(`${entry.name} ${entry.version}: asked for ${providers.join(',')}, runs on ${device.provider}; max batch ${device.maxBatchSize}`);
  if (device.fallbackReasons.length > 0) print(`  not loaded: ${device.fallbackReasons.join('; ')}`);
  if (device.provider !== 'cuda') print('  NOTE: not a GPU run; the figures below are for the provider named above');

  const prepared = await Promise.all(PHOTOS.map(async (f) => preprocess(readFileSync(testImage(f)), device.spec, limits)));
  const reference: Detection[][] = [];
  for (const p of prepared) {
    const [output] = await cpu.run([p.tensor]);
    reference.push(postprocess(output as Float32Array, cpu.spec, p, params));
  }

  const rows: { batch: number; msPerBatch: number; imagesPerSecond: number; boxesMatchCpu: boolean }[] = [];
  print('batch  ms/batch p50  ms/image  images/s  boxes match CPU');
  for (const n of batches) {
    if (n > device.maxBatchSize) {
      print(`${String(n).padEnd(6)} skipped: the model runs batches of at most ${device.maxBatchSize}`);
      continue;
    }
    const indexes = Array.from({ length: n }, (_, i) => i % prepared.length);
    const tensors = indexes.map((i) => (prepared[i] as (typeof prepared)[number]).tensor);
    const samples: number[] = [];
    let outputs: Float32Array[] = [];
    for (let r = 0; r < warmup + reps; r++) {
      const started = performance.now();
      outputs = await device.run(tensors);
      if (r >= warmup) samples.push(performance.now() - started);
    }
    const match = outputs.every((o, k) => {
      const i = indexes[k] as number;
      return sameBoxes(postprocess(o, device.spec, prepared[i] as (typeof prepared)[number], params), reference[i] as Detection[]);
    });
    const ms = p50(samples);
    rows.push({ batch: n, msPerBatch: ms, imagesPerSecond: (1000 * n) / ms, boxesMatchCpu: match });
    print(`${String(n).padEnd(6)} ${ms.toFixed(2).padStart(12)}  ${(ms / n).toFixed(2).padStart(8)}  ${((1000 * n) / ms).toFixed(1).padStart(8)}  ${match ? 'yes' : 'NO'}`);
  }
  if (values.out) {
    writeFileSync(values.out, `${JSON.stringify({ model: { name: entry.name, version: entry.version }, provider: device.provider, requested: providers, reps, rows }, null, 2)}\n`);
    print(`wrote ${values.out}`);
  }
  await device.release();
  await cpu.release();
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:gpu: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});

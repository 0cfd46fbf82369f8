import { type ArgusConfig, loadConfig } from '@argus/config';
import type { DetectParams, ErrorInfo } from '@argus/contracts';
import { formatBytes } from '@argus/imaging';
import { Detector, type DetectorSession, isModelError, readModelFile } from '@argus/vision';
import { readFile, stat } from 'node:fs/promises';
import { DETECT_USAGE, parseDetectArgs } from './detect-args';
import { type DetectEntry, resolveClasses, roundDetection } from './detect-output';

// stdout carries the JSON result and nothing else; everything for people goes to stderr.
const log = (line: string) => process.stderr.write(`${line}\n`);

async function main(argv: string[]): Promise<number> {
  const command = parseDetectArgs(argv);
  switch (command.kind) {
    case 'help':
      process.stdout.write(DETECT_USAGE);
      return 0;
    case 'usage-error':
      log(`detect: ${command.message}\n\n${DETECT_USAGE}`);
      return 2;
    case 'detect':
      break;
  }
  let config: ArgusConfig;
  try {
    config = loadConfig();
  } catch (e) {
    log(`detect: ${e instanceof Error ? e.message : String(e)}`);
    return 2;
  }
  const limits = { maxBytes: config.limits.maxImageBytes, maxPixels: config.limits.maxImagePixels };
  const sessionOptions = {
    executionProviders: config.models.executionProviders,
    intraOpThreads: config.models.intraOpThreads,
    interOpThreads: config.models.interOpThreads,
    warmupRuns: config.models.warmupRuns,
    maxBatchSize: config.models.maxBatchSize,
  };
  let name = command.model ?? config.models.default;
  let detector: Detector;
  try {
    if (command.modelFile !== undefined) {
      const entry = await readModelFile(command.modelFile);
      name = entry.name;
      detector = await Detector.load([entry], { session: sessionOptions, limits });
    } else {
      detector = await Detector.open({ repository: config.models.repository, models: [name], session: sessionOptions, limits });
    }
  } catch (e) {
    log(`detect: ${e instanceof Error ? e.message : String(e)}`);
    return isModelError(e) && e.code === 'unknown_model' ? 2 : 1;
  }
  try {
    const session = detector.session(name);
    describeSession(session);
    const overrides = session.entry.overrides;
    const classes = command.classes ? resolveClasses(command.classes, session.spec.labels) : undefined;
    if (classes && classes.unknown.length > 0) {
      log(`detect: ${name} has no class ${classes.unknown.map((c) => `"${c}"`).join(', ')}; it knows ${session.spec.labels.join(', ')}`);
      return 2;
    }
    const params: DetectParams = {
      confidence: command.confidence ?? overrides.confidence ?? config.defaults.confidence,
      iou: command.iou ?? overrides.iou ?? config.defaults.iou,
      maxDetections: command.maxDetections ?? overrides.maxDetections ?? config.defaults.maxDetections,
      classes: classes ? classes.ids : null,
      agnostic: command.agnostic,
    };
    const entries: DetectEntry[] = [];
    // Batches of the model's size keep memory flat however many images are named.
    for (let i = 0; i < command.images.length; i += session.maxBatchSize) {
      const paths = command.images.slice(i, i + session.maxBatchSize);
      const files = await Promise.all(paths.map((path) => readImage(path, limits.maxBytes)));
      const readable = files.filter((f): f is Buffer => Buffer.isBuffer(f));
      const outcomes = await detector.detect(name, readable, params);
      let next = 0;
      paths.forEach((image, j) => {
        const file = files[j];
        if (!Buffer.isBuffer(file)) return entries.push({ image, error: file ?? { code: 'internal_error', message: 'not read' } });
        const outcome = outcomes[next++];
        if (!outcome?.ok) return entries.push({ image, error: outcome?.error ?? { code: 'internal_error', message: 'no result' } });
        return entries.push({
          image,
          width: outcome.width,
          height: outcome.height,
          model: { name, version: session.entry.version },
          detections: outcome.detections.map(roundDetection),
        });
      });
    }
    process.stdout.write(`${JSON.stringify(entries, null, 2)}\n`);
    const failed = entries.filter((e) => 'error' in e).length;
    if (failed > 0) log(`detect: ${failed} of ${entries.length} images failed`);
    return failed > 0 ? 1 : 0;
  } finally {
    await detector.close();
  }
}

function describeSession(session: DetectorSession): void {
  const asked = session.requestedProviders.join(',');
  const fallback = session.fallbackReasons.length > 0 ? ` (asked for ${asked}; ${session.fallbackReasons.join('; ')})` : '';
  log(
    `detect: ${session.entry.name} ${session.entry.version} (${session.spec.family}, ${session.spec.inputWidth}x${session.spec.inputHeight}) ` +
      `on ${session.provider}${fallback}; loaded in ${Math.round(session.loadMs)} ms, warmed up in ${Math.round(session.warmupMs)} ms`,
  );
  for (const note of session.notes) log(`detect: ${session.entry.name}: ${note}`);
}

/** The file's bytes, or the error a client would get; a file over the byte limit is not read at all. */
async function readImage(path: string, maxBytes: number): Promise<Buffer | ErrorInfo> {
  try {
    const info = await stat(path);
    if (!info.isFile()) return { code: 'not_found', message: `${path} is not a file` };
    if (info.size > maxBytes) {
      return {
        code: 'payload_too_large',
        message: `the image is ${formatBytes(info.size)}; the limit is ${formatBytes(maxBytes)} (MAX_IMAGE_BYTES)`,
      };
    }
    return await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { code: 'not_found', message: code === 'ENOENT' ? `no such file: ${path}` : `cannot read ${path}: ${String(e)}` };
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    log(`detect: unexpected failure: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exitCode = 1;
  },
);

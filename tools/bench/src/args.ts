import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

/** The parts of a run, in the order they run. */
export const PHASES = ['bare', 'direct', 'stack', 'cache', 'priority', 'batching'] as const;
export type Phase = (typeof PHASES)[number];

export const DEFAULT_MODELS = ['yolox-nano', 'yolov8n-int8'] as const;
export const DEFAULT_CONCURRENCY = [1, 4, 16, 64] as const;
/** The model name --noop serves. */
export const NOOP_MODEL = 'noop';

/** Everything a run is told on the command line (nothing is read from the environment). */
export interface BenchOptions {
  quick: boolean;
  models: string[];
  concurrency: number[];
  /** Measured seconds per point (after warm-up). */
  durationS: number;
  /** Minimum warm-up seconds per point (it also lasts until every client has had an answer). */
  warmupS: number;
  /** Seconds per cell of the bare threading grid. */
  gridS: number;
  /** Seconds of the lone-request measurement of the batching comparison. */
  loneS: number;
  only: Phase[];
  /**
   * The bare grid: images in flight x intra-op threads x model threads (x batching on/off where
   * the model batches). Several model threads are tried with one intra-op thread each.
   */
  gridInflight: number[];
  gridThreads: number[];
  gridModelThreads: number[];
  /** Times a point is measured again when other work used the machine during it (the quieter one is kept). */
  retries: number;
  /** Low-priority jobs queued ahead of the high-priority probes. */
  backlog: number;
  /** Extra environment for the stack's apps (e.g. WORKER_CONCURRENCY=8). */
  stackEnv: Record<string, string>;
  outDir: string;
  /** Build the three apps (nx, cached) before starting the stack; off with --no-build. */
  build: boolean;
  /** Where the stack's apps write V8 CPU profiles (--cpu-prof), or undefined for none. */
  profileDir?: string;
  /** The platform's ceiling: the stack alone, serving a generated no-op model small JPEGs. */
  noop: boolean;
}

export type ParsedArgs = { kind: 'run'; options: BenchOptions } | { kind: 'help'; text: string };

export class ArgError extends Error {
  override readonly name = 'ArgError';
}

export const USAGE = `npm run bench -- [options]

  --quick                   yolox-nano only, 2 s points, short grid (about 3 minutes)
  --models a,b              models to measure (default ${DEFAULT_MODELS.join(',')}; quick: yolox-nano)
  --concurrency 1,4,16,64   closed-loop clients per point (default ${DEFAULT_CONCURRENCY.join(',')})
  --duration S              measured seconds per point (default 6; quick 2)
  --warmup S                minimum warm-up seconds per point (default 2; quick 0.5)
  --grid-duration S         seconds per cell of the bare threading grid (default 3; quick 1.5)
  --only a,b                phases: ${PHASES.join(',')} (default all)
  --noop                    the platform's ceiling: the stack alone with a generated no-op model
                            ("${NOOP_MODEL}") and a small JPEG (default concurrency 16,64)
  --grid-inflight 1,2,4     bare grid: images in flight
  --grid-threads 1,2        bare grid: ONNX Runtime intra-op threads
  --grid-model-threads 1,2  bare grid: model runs side by side (with 1 intra-op thread each)
  --retries N               measure a point again when the machine was busy with other work (default 1)
  --backlog N               low-priority jobs waiting in the priority phase (default 500)
  --env KEY=VALUE[,K=V]     extra environment for the stack's apps (repeatable)
  --out DIR                 where the JSON and SVG go (default bench/results)
  --profile DIR             the stack's apps write V8 CPU profiles (.cpuprofile) into DIR on exit
  --no-build                do not build api-gateway, inference and results first (nx, cached;
                            the stack runs dist/, so without a build it may run old code)
  --help`;

const intList = (flag: string, raw: string, min: number): number[] => {
  const parts = raw.split(',').map((s) => s.trim());
  if (parts.some((p) => p === '')) throw new ArgError(`${flag} has an empty entry: "${raw}"`);
  return parts.map((p) => {
    const n = Number(p);
    if (!Number.isInteger(n) || n < min) throw new ArgError(`${flag} takes whole numbers >= ${min}, not "${p}"`);
    return n;
  });
};

const seconds = (flag: string, raw: string | undefined, fallback: number): number => {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n <= 0 || n > 600) throw new ArgError(`${flag} takes seconds in (0, 600], not "${raw}"`);
  return n;
};

const unique = <T>(list: T[]): T[] => [...new Set(list)];

/** Parses `npm run bench -- ...` arguments; throws ArgError naming the flag on bad input. */
export function parseBenchArgs(argv: string[]): ParsedArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        quick: { type: 'boolean', default: false },
        models: { type: 'string' },
        concurrency: { type: 'string' },
        duration: { type: 'string' },
        warmup: { type: 'string' },
        'grid-duration': { type: 'string' },
        only: { type: 'string' },
        'grid-inflight': { type: 'string' },
        'grid-threads': { type: 'string' },
        'grid-model-threads': { type: 'string' },
        backlog: { type: 'string' },
        retries: { type: 'string' },
        env: { type: 'string', multiple: true },
        out: { type: 'string' },
        profile: { type: 'string' },
        'no-build': { type: 'boolean', default: false },
        noop: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (e) {
    throw new ArgError(e instanceof Error ? e.message : String(e));
  }
  if (values.help) return { kind: 'help', text: USAGE };
  const quick = values.quick;

  if (values.noop && (values.models !== undefined || values.only !== undefined)) throw new ArgError('--noop measures the stack with its own model: leave out --models and --only');
  const models = values.noop ? [NOOP_MODEL] : values.models !== undefined ? values.models.split(',').map((s) => s.trim()) : quick ? ['yolox-nano'] : [...DEFAULT_MODELS];
  if (models.length === 0 || models.some((m) => !/^[A-Za-z0-9._-]+$/.test(m))) throw new ArgError(`--models takes model names separated by commas, not "${values.models}"`);

  const concurrency = values.concurrency !== undefined ? intList('--concurrency', values.concurrency, 1) : values.noop ? [16, 64] : [...DEFAULT_CONCURRENCY];
  if (concurrency.some((c) => c > 1024)) throw new ArgError('--concurrency is at most 1024 clients');

  let only: Phase[] = values.noop ? ['stack'] : [...PHASES];
  if (values.only !== undefined) {
    const asked = values.only.split(',').map((s) => s.trim());
    const bad = asked.filter((p) => !(PHASES as readonly string[]).includes(p));
    if (bad.length > 0 || asked.length === 0) throw new ArgError(`--only takes ${PHASES.join(', ')}; not ${bad.map((b) => `"${b}"`).join(', ') || '""'}`);
    only = PHASES.filter((p) => asked.includes(p));
  }

  const stackEnv: Record<string, string> = {};
  for (const group of values.env ?? []) {
    for (const pair of group.split(',')) {
      const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(pair.trim());
      if (!m) throw new ArgError(`--env takes KEY=VALUE pairs (upper-case keys), not "${pair}"`);
      stackEnv[m[1] as string] = m[2] as string;
    }
  }

  let retries = 1;
  if (values.retries !== undefined) [retries] = intList('--retries', values.retries, 0) as [number];
  let backlog = 500;
  if (values.backlog !== undefined) [backlog] = intList('--backlog', values.backlog, 1) as [number];

  return {
    kind: 'run',
    options: {
      quick,
      models: unique(models),
      concurrency: unique(concurrency).sort((a, b) => a - b),
      durationS: seconds('--duration', values.duration, quick ? 2 : 6),
      warmupS: seconds('--warmup', values.warmup, quick ? 0.5 : 2),
      gridS: seconds('--grid-duration', values['grid-duration'], quick ? 1.5 : 3),
      loneS: quick ? 5 : 10,
      only,
      gridInflight: unique(values['grid-inflight'] !== undefined ? intList('--grid-inflight', values['grid-inflight'], 1) : [1, 2, 4]),
      gridThreads: unique(values['grid-threads'] !== undefined ? intList('--grid-threads', values['grid-threads'], 1) : [1, 2]),
      gridModelThreads: unique(values['grid-model-threads'] !== undefined ? intList('--grid-model-threads', values['grid-model-threads'], 1) : [1, 2]),
      retries,
      backlog,
      stackEnv,
      outDir: values.out ?? 'bench/results',
      build: !values['no-build'],
      ...(values.profile !== undefined ? { profileDir: resolve(values.profile) } : {}),
      noop: values.noop,
    },
  };
}

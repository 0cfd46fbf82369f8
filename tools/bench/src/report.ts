import type { CpuCores } from './procs';
import type { LatencySummary } from './stats';

/** The three ways of serving the same photos that the benchmark compares. */
export const MODES = ['bare', 'direct', 'stack'] as const;
export type Mode = (typeof MODES)[number];

/** One measured point: a mode, a model, a number of closed-loop clients. */
export interface Point {
  mode: Mode;
  model: string;
  concurrency: number;
  /** Seconds measured (after warm-up) and seconds of warm-up. */
  windowS: number;
  warmupS: number;
  /** Successful requests completed in the window (for the stack: those with a completed row in Postgres by the window's end). */
  ok: number;
  failed: number;
  statuses: Record<string, number>;
  imagesPerSec: number;
  latency: LatencySummary;
  /** Cores used during the window, by process (and machine, other). */
  cpu: CpuCores;
  /** How the point was served (bare: pipeline shape and threads). */
  config?: Record<string, number | boolean | string>;
  /** Stack only: the rows behind the answers. */
  persisted?: {
    answered: number;
    rowsFound: number;
    byWindowEnd: number;
    lagP50Ms: number;
    lagP95Ms: number;
    /** The rows' own timings (queueWait, fetch, preprocess, inference, postprocess, total: p50 ms; batchSize: mean). */
    stages: Record<string, number>;
  };
}

/** One cell of the bare threading grid. */
export interface GridCell {
  model: string;
  inflight: number;
  /** ONNX Runtime intra-op threads per model thread. */
  threads: number;
  /** Model runs side by side (sessions, each on a thread of its own). */
  modelThreads: number;
  batching: boolean;
  imagesPerSec: number;
  latency: LatencySummary;
  cpuCores: number;
  /** Cores busy outside the measured processes during the cell (another session?). */
  otherCores: number;
  /** Mean batch size (batching only). */
  meanBatch?: number;
  /** The final round: the candidates measured again for longer; the choice uses these figures. */
  final?: { imagesPerSec: number; latency: LatencySummary; otherCores: number };
}

/** The bare pipeline's best settings for one model, as chosen from the grid. */
export interface BestConfigs {
  model: string;
  /** Most images per second (used for the points at concurrency > 1). */
  throughput: GridCell;
  /** Lowest p50 with one image in flight (used for concurrency 1). */
  latency: GridCell;
  /** Most images per second without batching (given to the direct server). */
  unbatched: GridCell;
}

export interface PriorityResult {
  model: string;
  backlogQueued: number;
  /** High-priority requests on the idle stack. */
  idle: LatencySummary;
  /** Each high-priority probe sent with the backlog waiting: latency and jobs still waiting. */
  probes: { ms: number; waiting: number }[];
  high: LatencySummary;
  /** A full batch through the bare pipeline (decode the batch in parallel, one run, boxes). */
  batchSize: number;
  oneBatchMs: number;
  limitMs: number;
}

export interface CacheResult {
  model: string;
  firstMs: number;
  hits: number;
  misses: number;
  latency: LatencySummary;
}

export interface BatchingResult {
  model: string;
  /** MAX_BATCH_SIZE 8 (on) and 1 (off): a lone request and 16 clients. */
  on: { lone: Point; loaded?: Point };
  off: { lone: Point; loaded?: Point };
  /** (on - off) / off of the lone request's p50. */
  loneCost: number;
  /** The two lone-request runs with batching on (before and after the "off" run), merged in `on.lone`. */
  onRuns: Point[];
}

export type Verdict = 'PASS' | 'MISS' | 'SKIP';

export interface TargetResult {
  id: 'throughput' | 'vs-direct' | 'latency-p50' | 'latency-p99' | 'priority' | 'batching' | 'cache';
  verdict: Verdict;
  /** What was measured against what. */
  detail: string;
}

export interface Ratio {
  model: string;
  concurrency: number;
  stackOverBare?: number;
  stackOverDirect?: number;
}

export interface BenchReport {
  meta: {
    startedAt: string;
    finishedAt: string;
    elapsedS: number;
    node: string;
    cpus: number;
    cpuModel: string;
    sharp: string;
    sharpConcurrency: number;
    onnxruntime: string;
    loadAvgStart: number[];
    loadAvgEnd: number[];
    /** Cores in use on the machine in the second before the run and after it (nothing of the run running). */
    busyCoresStart: number;
    busyCoresEnd: number;
    git: string;
    /** The model the targets are evaluated with. */
    targetModel: string;
    /** Seconds spent on other sessions' load: waiting for quiet and measuring again. */
    quietWaitS: number;
    argv: string[];
  };
  options: Record<string, unknown>;
  photos: string[];
  /** The stack's effective configuration (from its environment). */
  stackConfig?: Record<string, unknown>;
  grid: GridCell[];
  best: BestConfigs[];
  points: Point[];
  cache?: CacheResult;
  priority?: PriorityResult;
  batching?: BatchingResult;
  /** Peak resident memory (bytes) of each process, per part of the run (grid: the bare pipeline alone). */
  peakRss: Record<string, Record<string, number>>;
  /** Boxes found per photo, by mode and model: should agree. */
  boxes: Record<string, Record<string, number[]>>;
  ratios: Ratio[];
  targets: TargetResult[];
  warnings: string[];
}

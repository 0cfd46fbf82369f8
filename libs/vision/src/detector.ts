import type { DetectParams, Detection, ErrorInfo } from '@argus/contracts';
import { type ImageLimits, isImageError } from '@argus/imaging';
import { ModelError, isModelError, messageOf } from './errors';
import { type ModelEntry, primaryEntry, scanModelRepository } from './model-repository';
import { postprocess } from './postprocess';
import { type PreparedImage, preprocess } from './preprocess';
import { DetectorSession, type SessionOptions } from './session';

/** Milliseconds per stage for one image; inference is the wall time of the batch it ran in. */
export interface StageTimings {
  preprocess: number;
  inference: number;
  postprocess: number;
}

/** One image's result: its detections, or the error that stopped it. */
export type DetectOutcome =
  | { ok: true; width: number; height: number; detections: Detection[]; timings: StageTimings }
  | { ok: false; error: ErrorInfo };

/** Where the models are and how to run them. */
export interface DetectorOptions {
  repository: string;
  /** Model names to load; all of the repository when absent or empty. */
  models?: string[];
  session: SessionOptions;
  limits: ImageLimits;
}

/** Any thrown value as the error a client sees; only our typed errors keep their code. */
export function toErrorInfo(e: unknown): ErrorInfo {
  if (isImageError(e) || isModelError(e)) return e.toInfo();
  return { code: 'internal_error', message: messageOf(e) };
}

/** The whole pipeline in one process (CLI, benchmarks): repository, sessions, preprocess, run, postprocess. */
export class Detector {
  private constructor(
    private readonly sessions: ReadonlyMap<string, DetectorSession>,
    private readonly limits: ImageLimits,
  ) {}

  /**
   * Scans the repository and loads (and warms up) the chosen models, each at the version its
   * model.json sends the most traffic to (the newest by default).
   */
  static async open(options: DetectorOptions): Promise<Detector> {
    const models = await scanModelRepository(options.repository);
    const wanted = options.models?.length ? options.models : models.map((m) => m.name);
    const chosen = wanted.map((name) => {
      const model = models.find((m) => m.name === name);
      if (!model) throw unknownModel(name, models.map((m) => m.name));
      return primaryEntry(model);
    });
    return Detector.load(chosen, options);
  }

  /** Loads (and warms up) the given model files, e.g. one named on a command line ({@link readModelFile}). */
  static async load(entries: readonly ModelEntry[], options: Pick<DetectorOptions, 'session' | 'limits'>): Promise<Detector> {
    const sessions = new Map<string, DetectorSession>();
    try {
      for (const entry of entries) sessions.set(entry.name, await DetectorSession.create(entry, options.session));
    } catch (e) {
      await Promise.all([...sessions.values()].map((s) => s.release()));
      throw e;
    }
    return new Detector(sessions, options.limits);
  }

  /** The loaded models. */
  models(): DetectorSession[] {
    return [...this.sessions.values()];
  }

  /** One loaded model; ModelError('unknown_model') naming the available ones otherwise. */
  session(name: string): DetectorSession {
    const session = this.sessions.get(name);
    if (!session) throw unknownModel(name, [...this.sessions.keys()]);
    return session;
  }

  /** Detects objects in each image; a bad image fails alone, the others still run (as one batch where the model batches). */
  async detect(name: string, images: Buffer[], params: DetectParams): Promise<DetectOutcome[]> {
    const session = this.session(name);
    const prepared = await Promise.all(
      images.map((bytes) =>
        preprocess(bytes, session.spec, this.limits).then(
          (image): PreparedImage | ErrorInfo => image,
          (e: unknown) => toErrorInfo(e),
        ),
      ),
    );
    const ready = prepared.filter((p): p is PreparedImage => 'tensor' in p);
    let outputs: Float32Array[] = [];
    let failure: ErrorInfo | undefined;
    const started = performance.now();
    if (ready.length > 0) {
      try {
        outputs = await session.run(ready.map((p) => p.tensor));
      } catch (e) {
        failure = toErrorInfo(e);
      }
    }
    const inference = performance.now() - started;
    let next = 0;
    return prepared.map((p): DetectOutcome => {
      if (!('tensor' in p)) return { ok: false, error: p };
      const output = outputs[next++];
      if (failure || !output) return { ok: false, error: failure ?? { code: 'inference_failed', message: 'no output' } };
      const t = performance.now();
      const detections = postprocess(output, session.spec, p, params);
      return {
        ok: true,
        width: p.width,
        height: p.height,
        detections,
        timings: { preprocess: p.preprocessMs, inference, postprocess: performance.now() - t },
      };
    });
  }

  /** Releases every session. */
  async close(): Promise<void> {
    await Promise.all([...this.sessions.values()].map((s) => s.release()));
  }
}

function unknownModel(name: string, available: string[]): ModelError {
  return new ModelError('unknown_model', `no model named "${name}"; available: ${available.join(', ') || '(none)'}`);
}

import { ARGUS_CONFIG, type ArgusConfig } from '@argus/config';
import { DetectorSession, type DigestCache, type ModelEntry, type RepositoryModel, scanModelRepository, type SessionOptions } from '@argus/vision';
import { Inject, Injectable } from '@nestjs/common';

/** What ModelHost uses of a loaded model: a DetectorSession, or a fake in the host's unit tests. */
export type ModelSession = Pick<
  DetectorSession,
  'info' | 'provider' | 'fallbackReasons' | 'notes' | 'maxBatchSize' | 'modelThreads' | 'loadMs' | 'warmupMs' | 'spec' | 'runSlots' | 'slot' | 'release' | 'onFailure'
>;

/** Where models come from: the repository as it is now, and a loaded, warmed session per version. */
export abstract class ModelSource {
  /** The repository's models and versions (ModelError no_models when it cannot be read or is empty). */
  abstract scan(): Promise<RepositoryModel[]>;
  /** Loads and warms one version. */
  abstract open(entry: ModelEntry, options: SessionOptions): Promise<ModelSession>;
}

/** MODEL_REPOSITORY on disk, and ONNX Runtime sessions. */
@Injectable()
export class RepositoryModelSource extends ModelSource {
  /** Scanned every few seconds: a file that did not change is not read again. */
  private readonly digests: DigestCache = new Map();

  constructor(@Inject(ARGUS_CONFIG) private readonly config: ArgusConfig) {
    super();
  }

  async scan(): Promise<RepositoryModel[]> {
    const models = await scanModelRepository(this.config.models.repository, this.digests);
    // Files gone from the repository leave the cache.
    const seen = new Set(models.flatMap((m) => m.versions.map((v) => v.path)));
    for (const path of this.digests.keys()) if (!seen.has(path)) this.digests.delete(path);
    return models;
  }

  open(entry: ModelEntry, options: SessionOptions): Promise<ModelSession> {
    return DetectorSession.create(entry, options);
  }
}

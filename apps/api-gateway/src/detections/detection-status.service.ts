import { ArgusStore, DetectJobs } from '@argus/broker';
import { canceledView, type DetectionView, detectionView, failed, finalStatus, type ReadScope } from '@argus/contracts';
import { Injectable, Logger } from '@nestjs/common';
import { notFoundUnless } from '../errors/api-error';
import { visibleIn } from '../http/request-context';
import { ResultsClient } from '../results-client/results.client';

/**
 * A request at any stage: its row from apps/results once persisted; before that, its Redis record
 * with the outcome of its work or the state of its job. Only within the caller's read scope:
 * another client's request is not_found, exactly like an id that never existed.
 */
@Injectable()
export class DetectionStatus {
  private readonly logger = new Logger(DetectionStatus.name);

  constructor(
    private readonly results: ResultsClient,
    private readonly store: ArgusStore,
    private readonly jobs: DetectJobs,
  ) {}

  async get(id: string, scope: ReadScope): Promise<DetectionView> {
    let resultsDown: unknown;
    try {
      const persisted = await this.results.get(id, scope);
      if (persisted) return persisted;
    } catch (error) {
      resultsDown = error;
      this.logger.warn({ msg: 'apps/results did not answer; reading Redis only', error: error instanceof Error ? error.message : String(error) });
    }
    const found = await this.store.getRequest(id);
    const stored = found && visibleIn(scope, found.record.clientId) ? found : null;
    if (!stored) throw notFoundUnless(resultsDown, `No detection with id "${id}"`);
    const { record, jobId, cached } = stored;
    if (stored.canceledAt) return canceledView(record, { canceled: true, at: stored.canceledAt });
    const outcome = await this.store.getOutcome(record.workKey);
    if (outcome) return detectionView(record, finalStatus({ outcome }), { outcome, cached });
    if (!jobId) return detectionView(record, 'queued');
    const job = await this.jobs.state(record.model.name, jobId);
    switch (job.state) {
      case 'active':
        return detectionView(record, 'active');
      case 'failed':
        return detectionView(record, 'failed', { outcome: failed(job.error, new Date(job.finishedAt)), cached: false });
      case 'completed':
        return job.result ? detectionView(record, 'completed', { outcome: { ok: true, result: job.result }, cached: false }) : detectionView(record, 'active');
      default:
        return detectionView(record, 'queued');
    }
  }
}

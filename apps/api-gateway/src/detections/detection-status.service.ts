import { ArgusStore, DETECT_QUEUE, type DetectQueue, pendingView } from '@argus/broker';
import { decodeFailure, type DetectionView, type ReadScope } from '@argus/contracts';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { ApiError } from '../errors/api-error';
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
    @Inject(DETECT_QUEUE) private readonly queue: DetectQueue,
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
    if (!stored) {
      if (resultsDown) throw new ApiError('unavailable', 'Results are unavailable right now; retry shortly', { 'Retry-After': '2' });
      throw new ApiError('not_found', `No detection with id "${id}"`);
    }
    const { record, jobId, cached } = stored;
    const outcome = await this.store.getOutcome(record.workKey);
    if (outcome) {
      return outcome.ok ? pendingView(record, 'completed', { result: outcome.result }, cached) : pendingView(record, 'failed', { error: outcome.error }, cached);
    }
    if (!jobId) return pendingView(record, 'queued');
    const job = await this.queue.getJob(jobId);
    const state = job ? await job.getState() : 'unknown';
    switch (state) {
      case 'active':
        return pendingView(record, 'active');
      case 'failed':
        return pendingView(record, 'failed', { error: decodeFailure(job?.failedReason) });
      case 'completed':
        return job?.returnvalue ? pendingView(record, 'completed', { result: job.returnvalue }) : pendingView(record, 'active');
      default:
        return pendingView(record, 'queued');
    }
  }
}

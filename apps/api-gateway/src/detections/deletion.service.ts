import { ArgusStore, DetectJobs, PersistJobs } from '@argus/broker';
import { canceledView, type DetectionView, type ReadScope } from '@argus/contracts';
import { Injectable, Logger } from '@nestjs/common';
import { ApiError, notFoundUnless } from '../errors/api-error';
import { visibleIn } from '../http/request-context';
import { ResultsClient } from '../results-client/results.client';

/** What deleting did: canceled a detection still waiting (its view), or erased a finished one. */
export type Deletion = { outcome: 'canceled'; view: DetectionView } | { outcome: 'erased' };

/**
 * `DELETE /v1/detections/:id` (and GraphQL's deleteDetection): a finished detection is erased
 * (its row, its cached outcome and its image: apps/results does both, Redis first); a waiting one
 * is canceled: it leaves its work atomically with the end of that work (cancel.lua), its job is
 * removed unless other requests still ride on it, and it ends once in Postgres as canceled (the
 * reconciler hands it over again if that persist job is lost, and never puts it back on its work).
 * A running one, or one whose end is being saved, is 409 not_ready.
 */
@Injectable()
export class DetectionDeletion {
  private readonly logger = new Logger(DetectionDeletion.name);

  constructor(
    private readonly results: ResultsClient,
    private readonly store: ArgusStore,
    private readonly detect: DetectJobs,
    private readonly persist: PersistJobs,
  ) {}

  async delete(id: string, scope: ReadScope): Promise<Deletion> {
    let resultsDown: unknown;
    try {
      if (await this.results.erase(id, scope)) return { outcome: 'erased' };
    } catch (error) {
      resultsDown = error;
      this.logger.warn({ msg: 'apps/results did not answer an erase; only a waiting detection can be canceled now', error: error instanceof Error ? error.message : String(error) });
    }
    const found = await this.store.getRequest(id);
    const stored = found && visibleIn(scope, found.record.clientId) ? found : null;
    if (!stored) throw notFoundUnless(resultsDown, `No detection with id "${id}"`);
    const { record } = stored;
    if (stored.canceledAt) return { outcome: 'canceled', view: canceledView(record, { canceled: true, at: stored.canceledAt }) };
    const saving = () => new ApiError('not_ready', `Detection ${id} has ended and its result is being saved; delete it again in a moment to erase it`, { 'Retry-After': '1' });
    if (stored.cached || stored.handed || (await this.store.getOutcome(record.workKey))) throw saving();
    const jobId = stored.jobId ?? record.id;
    const job = await this.detect.state(record.model.name, jobId);
    if (job.state === 'active') {
      throw new ApiError('not_ready', `Detection ${id} is running and cannot be deleted now; delete it once it has ended (to erase it)`, { 'Retry-After': '1' });
    }
    if (job.state === 'completed' || job.state === 'failed') throw saving();

    const persistId = PersistJobs.newId('cancel');
    const canceled = await this.store.cancel(record, persistId);
    switch (canceled.kind) {
      case 'missing':
        throw new ApiError('not_found', `No detection with id "${id}"`);
      case 'ended':
        throw saving();
      case 'already':
        return { outcome: 'canceled', view: canceledView(record, { canceled: true, at: canceled.at }) };
      case 'canceled':
        break;
    }
    const end = { canceled: true as const, at: canceled.at };
    // Marked canceled and handed to this persist job: if adding it fails, the reconciler adds another.
    await this.persist.handOver(persistId, [{ end, records: [record] }]).catch((error: unknown) =>
      this.logger.warn({ msg: 'canceled; its row will be written by the reconciler', requestId: id, error: error instanceof Error ? error.message : String(error) }),
    );
    let removed = false;
    if (canceled.stillAttached === 0) {
      // Nobody else needs the work. A job a worker took meanwhile stays and runs for nobody.
      removed = await this.detect.remove(record.model.name, jobId);
      if (removed) await this.store.releaseImage(record.sha256, jobId);
    }
    this.logger.log({ msg: 'detection canceled', requestId: id, jobId, jobRemoved: removed, sharedWith: canceled.stillAttached });
    return { outcome: 'canceled', view: canceledView(record, end) };
  }
}

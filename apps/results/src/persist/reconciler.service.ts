import { ArgusStore, DetectJobs, PersistJobs, type StoredRequest } from '@argus/broker';
import { failed, isCancel, type RequestEnd, type WorkOutcome } from '@argus/contracts';
import { Injectable, Logger } from '@nestjs/common';

/** Ledger entries looked at per pass. */
const PER_PASS = 500;

/** What the reconciler did for one request. */
export type Reconciled = 'waiting' | 'handed-over' | 're-queued' | 'forgotten';

/**
 * The safety net under "every accepted request ends once in Postgres". Admission enters each
 * request in a ledger that persisting removes it from; the reconciler looks at the entries older
 * than RECONCILE_AFTER_SECONDS and finishes what a crash or an outage left half done:
 * - work still queued or running: nothing to do, look again later;
 * - handed to a persist job that still exists: it is on its way (Postgres may be away);
 * - the work has an outcome (stored, or in the job's failure) but the request never reached a
 *   persist job (a gateway died after answering a cache hit; a worker died between the end of work
 *   and adding the persist job; a job failed without its worker's code running): hand it over;
 * - no job and no outcome (a gateway died between recording it and adding the job): attach it to
 *   its work again and add the job;
 * - its record expired: nothing can be persisted; say so and drop it;
 * - its client canceled it: its canceled row is on its way, or it is handed over (again) as
 *   canceled; never put back on its work.
 * Every action is safe to repeat: rows are keyed by request id, jobs by request id and work key.
 */
@Injectable()
export class Reconciler {
  private readonly logger = new Logger(Reconciler.name);

  constructor(
    private readonly store: ArgusStore,
    private readonly jobs: DetectJobs,
    private readonly persist: PersistJobs,
  ) {}

  /** One pass over the ledger entries that are due; returns what was done for each. */
  async pass(now = Date.now()): Promise<Map<string, Reconciled>> {
    const done = new Map<string, Reconciled>();
    const due = await this.store.dueUnpersisted(now, PER_PASS);
    const later = now + this.store.retention.reconcileAfterSeconds * 1000;
    for (const id of due) {
      const action = await this.reconcile(id);
      done.set(id, action);
      if (action === 'forgotten') await this.store.forget(id);
      else await this.store.postpone([id], later);
    }
    const acted = [...done.values()].filter((a) => a !== 'waiting').length;
    if (acted > 0) this.logger.warn({ msg: 'reconciled requests a failure left unfinished', looked: due.length, acted, actions: summary(done) });
    return done;
  }

  private async reconcile(id: string): Promise<Reconciled> {
    const stored = await this.store.getRequest(id);
    if (!stored) {
      this.logger.error({ msg: 'an accepted request lost its record before it was persisted (REQUEST_TTL_SECONDS too short?); no row can be written', requestId: id });
      return 'forgotten';
    }
    if (stored.handed && (await this.persist.pending(stored.handed))) return 'waiting';
    if (stored.canceledAt) return this.handOver(stored, { canceled: true, at: stored.canceledAt });
    const { record } = stored;
    const outcome = await this.store.getOutcome(record.workKey);
    if (stored.cached && outcome) return this.handOver(stored, { workKey: record.workKey, jobId: null, attempts: 0, cached: true, outcome });
    const jobId = stored.jobId ?? record.id;
    const job = await this.jobs.state(record.model.name, jobId);
    switch (job.state) {
      case 'queued':
      case 'active':
        return 'waiting';
      case 'failed':
        return this.handOver(stored, { workKey: record.workKey, jobId, attempts: job.attempts, cached: false, outcome: outcome ?? failed(job.error, new Date(job.finishedAt)) });
      case 'completed': {
        const ended: WorkOutcome | null = outcome ?? (job.result ? { ok: true, result: job.result } : null);
        if (ended) return this.handOver(stored, { workKey: record.workKey, jobId, attempts: 1, cached: false, outcome: ended });
        return this.requeue(stored);
      }
      case 'missing':
        if (outcome) return this.handOver(stored, { workKey: record.workKey, jobId, attempts: 0, cached: false, outcome });
        return this.requeue(stored);
    }
  }

  private async handOver(stored: StoredRequest, end: RequestEnd): Promise<Reconciled> {
    await this.persist.handOver(PersistJobs.newId('fix'), [{ end, records: [stored.record] }]);
    const how = isCancel(end) ? { canceled: true } : { jobId: end.jobId, ok: end.outcome.ok };
    this.logger.warn({ msg: 'handed over a request that ended without persisting', requestId: stored.record.id, ...how });
    return 'handed-over';
  }

  /** No job and no outcome: the request goes back on its work, and the job is added (or joined). */
  private async requeue(stored: StoredRequest): Promise<Reconciled> {
    const { record } = stored;
    await this.store.reattach(record);
    const { jobId, joined } = await this.jobs.enqueue({ record });
    if (joined) await this.store.setRequestJob(record.id, jobId);
    this.logger.warn({ msg: 'added the job of a request recorded without one', requestId: record.id, jobId, joined });
    return 're-queued';
  }
}

/** How many requests of a pass got each action. */
export function summary(done: ReadonlyMap<string, Reconciled>): Partial<Record<Reconciled, number>> {
  const counts: Partial<Record<Reconciled, number>> = {};
  for (const action of done.values()) counts[action] = (counts[action] ?? 0) + 1;
  return counts;
}

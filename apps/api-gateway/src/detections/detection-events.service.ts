import { ArgusStore, type StoredRequest } from '@argus/broker';
import { type DetectionStatus as Status, type DetectionView, detectionView, finalStatus, type ReadScope, type WorkOutcome } from '@argus/contracts';
import { Injectable } from '@nestjs/common';
import { visibleIn } from '../http/request-context';
import { CompletionWaiter, type JobEvent } from './completion-waiter';
import { DetectionStatus } from './detection-status.service';
import { Inbox, type InboxMiss } from './inbox';

/** One message of a detection's event stream: each status change, then the final result. */
export type DetectionEvent = { type: 'status'; id: string; status: Status; at: string } | { type: 'result'; detection: DetectionView };

/** A live view of one detection's progress; `close()` ends it at once (the client left). */
export interface DetectionWatch extends AsyncIterableIterator<DetectionEvent> {
  close(): void;
}

/**
 * How often a watch re-reads the detection even without events: a safety net for events missed
 * while the gateway's event connection was down (Redis restart), never the normal path.
 */
const RECHECK_MS = 5000;

const RANK: Readonly<Record<Status, number>> = { queued: 0, active: 1, completed: 2, failed: 2, canceled: 2 };

function isFinal(status: Status): boolean {
  return RANK[status] === 2;
}

/**
 * Streams a detection's status changes (queued, active, completed or failed) and then its final
 * view: the source of Server-Sent Events and GraphQL subscriptions. Requests that share a job see
 * that job's changes; a cache hit is completed from the start.
 */
@Injectable()
export class DetectionEvents {
  constructor(
    private readonly store: ArgusStore,
    private readonly status: DetectionStatus,
    private readonly hub: CompletionWaiter,
  ) {}

  /**
   * Opens a watch. The detection is looked up first, so an unknown id throws (not_found,
   * unavailable) before anything is streamed; events that arrive during the lookup are kept.
   */
  async open(id: string, scope: ReadScope): Promise<DetectionWatch> {
    const inbox = new Inbox<JobEvent>();
    const found = await this.store.getRequest(id);
    const stored = found && visibleIn(scope, found.record.clientId) ? found : null;
    let stop = stored?.jobId ? this.hub.watch(stored.jobId, (event) => inbox.push(event)) : () => undefined;
    let initial: DetectionView;
    try {
      initial = await this.status.get(id, scope);
    } catch (error) {
      stop();
      throw error;
    }
    // Heard while the initial state was read, so possibly older than it: only forward moves count.
    const early = inbox.drain().filter((e) => RANK[e.state] > RANK[initial.status]);
    const aborter = new AbortController();
    const generator = this.run(id, scope, stored, initial, early, inbox, aborter.signal, (jobId) => {
      stop();
      stop = this.hub.watch(jobId, (event) => inbox.push(event));
    });
    const close = () => {
      aborter.abort();
      stop();
    };
    const watch: DetectionWatch = {
      next: async () => {
        try {
          const next = await generator.next();
          if (next.done) close();
          return next;
        } catch (error) {
          close();
          throw error;
        }
      },
      return: async () => {
        close();
        return generator.return(undefined);
      },
      throw: (error?: unknown) => generator.throw(error),
      close,
      [Symbol.asyncIterator]: () => watch,
    };
    return watch;
  }

  private async *run(
    id: string,
    scope: ReadScope,
    stored: StoredRequest | null,
    initial: DetectionView,
    early: JobEvent[],
    inbox: Inbox<JobEvent>,
    signal: AbortSignal,
    rewatch: (jobId: string) => void,
  ): AsyncGenerator<DetectionEvent, void, undefined> {
    const statusEvent = (status: Status): DetectionEvent => ({ type: 'status', id, status, at: new Date().toISOString() });
    let last = initial.status;
    yield statusEvent(last);
    if (isFinal(last) || !stored) {
      yield { type: 'result', detection: initial };
      return;
    }
    let jobId = stored.jobId;
    const pending = [...early];
    while (!signal.aborted) {
      const next: JobEvent | InboxMiss = pending.shift() ?? (await inbox.next(signal, RECHECK_MS));
      if (next === 'aborted') return;
      if (next === 'timeout') {
        if (!jobId) {
          // Admission records the job a moment after the request; pick it up when it appears.
          jobId = (await this.store.getRequest(id))?.jobId;
          if (jobId) rewatch(jobId);
        }
        const view = await this.status.get(id, scope);
        if (view.status !== last) {
          last = view.status;
          yield statusEvent(last);
        }
        if (isFinal(view.status)) {
          yield { type: 'result', detection: view };
          return;
        }
        continue;
      }
      if (next.state !== last) {
        last = next.state;
        yield statusEvent(last);
      }
      if (next.state === 'completed' || next.state === 'failed') {
        yield { type: 'result', detection: finalView(stored, next.outcome) };
        return;
      }
    }
  }
}

function finalView(stored: StoredRequest, outcome: WorkOutcome): DetectionView {
  return detectionView(stored.record, finalStatus({ outcome }), { outcome, cached: stored.cached });
}

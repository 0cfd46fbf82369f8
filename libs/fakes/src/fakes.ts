import type { Admission, DetectJobState, Enqueue, HandOver, IdempotencyClaim, JobEvent, JobListener, StoredRequest, WorkEnding } from '@argus/broker';
import type { HandedEnd, RequestEnd, RequestRecord, WorkOutcome } from '@argus/contracts';

/**
 * In-memory stand-ins for the broker's classes, for unit tests of the use cases (submit, status,
 * completion, the processor, the reconciler). They keep the rules the real ones keep in Redis —
 * a request attaches only while no outcome is stored; ending work hands over the attached requests
 * once; jobs are named after the request and shared by work key — so a use case tested against them
 * meets the same situations. Redis itself is tested against Redis (`*.int.spec.ts`).
 */
export class FakeStore {
  readonly requests = new Map<string, StoredRequest>();
  readonly outcomes = new Map<string, WorkOutcome>();
  readonly attached = new Map<string, Set<string>>();
  readonly images = new Map<string, Buffer>();
  readonly holders = new Map<string, Set<string>>();
  readonly ledger = new Map<string, number>();
  readonly idempotency = new Map<string, { requestId: string; fingerprint: string }>();
  readonly retention = { reconcileAfterSeconds: 60 };
  /** Throws from the next call of a method, once (a Redis that went away). */
  failNext: string | undefined;

  private check(method: string): void {
    if (this.failNext === method) {
      this.failNext = undefined;
      throw new Error('Connection is closed.');
    }
  }

  async admit(record: RequestRecord, image: Buffer, claim?: IdempotencyClaim): Promise<Admission> {
    this.check('admit');
    if (claim) {
      const key = `${claim.clientId}:${claim.key}`;
      const held = this.idempotency.get(key);
      if (held) return { kind: 'replay', ...held };
      this.idempotency.set(key, { requestId: record.id, fingerprint: claim.fingerprint });
    }
    this.ledger.set(record.id, Date.parse(record.createdAt) + this.retention.reconcileAfterSeconds * 1000);
    const outcome = this.outcomes.get(record.workKey);
    if (outcome) {
      this.requests.set(record.id, { record, cached: true });
      return { kind: 'hit', outcome };
    }
    this.requests.set(record.id, { record, jobId: record.id, cached: false });
    this.setOf(this.attached, record.workKey).add(record.id);
    this.images.set(record.sha256, image);
    this.setOf(this.holders, record.sha256).add(record.id);
    return { kind: 'miss' };
  }

  async releaseImage(sha256: string, holder: string): Promise<void> {
    this.holders.get(sha256)?.delete(holder);
  }

  async setRequestJob(requestId: string, jobId: string): Promise<void> {
    const stored = this.requests.get(requestId);
    if (stored) stored.jobId = jobId;
  }

  async getRequest(id: string): Promise<StoredRequest | null> {
    return this.requests.get(id) ?? null;
  }

  async getOutcome(workKey: string): Promise<WorkOutcome | null> {
    return this.outcomes.get(workKey) ?? null;
  }

  async getImage(sha256: string): Promise<Buffer | null> {
    return this.images.get(sha256) ?? null;
  }

  async jobInputs(workKey: string, sha256: string): Promise<{ outcome: WorkOutcome | null; image: Buffer | null }> {
    this.check('jobInputs');
    return { outcome: this.outcomes.get(workKey) ?? null, image: this.images.get(sha256) ?? null };
  }

  async endWork(work: { workKey: string; sha256: string }, holder: string, outcome: WorkOutcome, remember: boolean | number, persistJobId: string): Promise<HandOver> {
    this.check('endWork');
    if (remember !== false) this.outcomes.set(work.workKey, outcome);
    this.holders.get(work.sha256)?.delete(holder);
    const ids = [...(this.attached.get(work.workKey) ?? [])];
    this.attached.delete(work.workKey);
    const records: RequestRecord[] = [];
    const missing: string[] = [];
    for (const id of ids) {
      const stored = this.requests.get(id);
      if (!stored) {
        missing.push(id);
        continue;
      }
      stored.handed = persistJobId;
      records.push(stored.record);
    }
    return { records, missing };
  }

  async endWorks(ends: readonly WorkEnding[], persistJobId: string): Promise<HandOver[]> {
    const handed: HandOver[] = [];
    for (const e of ends) handed.push(await this.endWork(e.work, e.holder, e.outcome, e.remember, persistJobId));
    return handed;
  }

  async dueUnpersisted(now: number, limit: number): Promise<string[]> {
    return [...this.ledger.entries()].filter(([, at]) => at <= now).map(([id]) => id).slice(0, limit);
  }

  async postpone(ids: readonly string[], at: number): Promise<void> {
    for (const id of ids) if (this.ledger.has(id)) this.ledger.set(id, at);
  }

  async settle(ids: readonly string[]): Promise<void> {
    for (const id of ids) this.ledger.delete(id);
  }

  async forget(id: string): Promise<void> {
    this.ledger.delete(id);
  }

  async reattach(record: RequestRecord): Promise<void> {
    this.setOf(this.attached, record.workKey).add(record.id);
    const stored = this.requests.get(record.id);
    if (stored) stored.jobId = record.id;
  }

  private setOf(map: Map<string, Set<string>>, key: string): Set<string> {
    let set = map.get(key);
    if (!set) {
      set = new Set();
      map.set(key, set);
    }
    return set;
  }
}

/** A detection job as the fake queue keeps it. */
export interface FakeJob {
  id: string;
  model: string;
  workKey: string;
  priority: number;
  deadline?: number;
  state: DetectJobState;
}

/** The detection queues: jobs named after their request, shared by work key while unfinished. */
export class FakeDetectJobs {
  readonly jobs = new Map<string, FakeJob>();
  /** Throws from the next enqueue, once (Redis went away between admission and the job). */
  failNextEnqueue = false;

  async enqueue({ record, deadline }: Enqueue): Promise<{ jobId: string; joined: boolean }> {
    if (this.failNextEnqueue) {
      this.failNextEnqueue = false;
      throw new Error('Connection is closed.');
    }
    for (const job of this.jobs.values()) {
      if (job.workKey === record.workKey && (job.state.state === 'queued' || job.state.state === 'active')) return { jobId: job.id, joined: true };
    }
    const existing = this.jobs.get(record.id);
    if (existing) return { jobId: existing.id, joined: false };
    this.jobs.set(record.id, {
      id: record.id,
      model: record.model.name,
      workKey: record.workKey,
      priority: { high: 1, normal: 2, low: 3 }[record.priority],
      ...(deadline !== undefined ? { deadline } : {}),
      state: { state: 'queued' },
    });
    return { jobId: record.id, joined: false };
  }

  async promote(_model: string, jobId: string, priority: number, deadline: number | undefined): Promise<void> {
    const job = this.jobs.get(jobId);
    if (!job) return;
    if (job.state.state === 'queued' && job.priority > priority) job.priority = priority;
    if (job.deadline !== undefined && (deadline === undefined || deadline > job.deadline)) {
      if (deadline === undefined) delete job.deadline;
      else job.deadline = deadline;
    }
  }

  async state(_model: string, jobId: string): Promise<DetectJobState> {
    return this.jobs.get(jobId)?.state ?? { state: 'missing' };
  }
}

/** The results queue: persist jobs by id, and which ones are still pending. */
export class FakePersistJobs {
  readonly jobs = new Map<string, { ends: HandedEnd[]; pending: boolean }>();
  /** Throws from the next hand-over, once. */
  failNext = false;

  async handOver(id: string, ends: readonly HandedEnd[]): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('Connection is closed.');
    }
    const kept = ends.filter((e) => e.records.length > 0);
    if (kept.length === 0) return;
    if (!this.jobs.has(id)) this.jobs.set(id, { ends: kept.map((e) => ({ end: e.end, records: [...e.records] })), pending: true });
  }

  async pending(id: string): Promise<boolean> {
    return this.jobs.get(id)?.pending ?? false;
  }

  /** Every request handed over so far, with how its work ended. */
  handed(): { id: string; end: RequestEnd }[] {
    return [...this.jobs.values()].flatMap((job) => job.ends.flatMap((e) => e.records.map((r) => ({ id: r.id, end: e.end }))));
  }
}

/** The completion channel: delivers what tests emit to whoever watches. */
export class FakeJobEvents {
  private readonly listeners = new Map<string, Set<JobListener>>();
  readonly announced: { jobId: string; state: 'queued' | 'active' }[] = [];

  async listen(): Promise<void> {
    return;
  }

  async announce(jobId: string, state: 'queued' | 'active'): Promise<void> {
    this.announced.push({ jobId, state });
    this.emit(jobId, { state });
  }

  watch(jobId: string, listener: JobListener): () => void {
    const set = this.listeners.get(jobId) ?? new Set<JobListener>();
    set.add(listener);
    this.listeners.set(jobId, set);
    return () => set.delete(listener);
  }

  get watchers(): number {
    let n = 0;
    for (const set of this.listeners.values()) n += set.size;
    return n;
  }

  /** The jobs someone listens to now. */
  watched(): string[] {
    return [...this.listeners.entries()].filter(([, set]) => set.size > 0).map(([jobId]) => jobId);
  }

  emit(jobId: string, event: JobEvent): void {
    for (const listener of [...(this.listeners.get(jobId) ?? [])]) listener(event);
  }
}

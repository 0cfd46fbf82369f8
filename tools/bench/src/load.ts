/** How one request ended, as the load generator records it. */
export interface Completion<T> {
  ok: boolean;
  /** A short outcome label for the tally: "200", "202", "ECONNRESET", ... */
  status: string;
  /** Whatever the caller wants back for requests completed in the window (e.g. a request id). */
  tag?: T;
}

export interface ClosedLoopOptions {
  /** Clients, each with one request in flight at a time. */
  concurrency: number;
  /** Warm-up lasts at least this long, and until each client has had about one answer. */
  warmupMs: number;
  /** Upper bound of the warm-up, for very slow points. */
  maxWarmupMs: number;
  /** Measured window. */
  durationMs: number;
  /** Called as the window opens and closes (e.g. to read CPU counters). */
  onWindowStart?: () => void;
  onWindowEnd?: () => void;
}

export interface ClosedLoopResult<T> {
  /** Length of the measured window and its bounds (epoch milliseconds). */
  windowMs: number;
  windowStartEpochMs: number;
  windowEndEpochMs: number;
  warmupMs: number;
  /** Requests that completed inside the window: successes, and failures by status. */
  ok: number;
  failed: number;
  statuses: Record<string, number>;
  /** Latency of each successful request completed in the window, in ms. */
  latencies: number[];
  /** Tags of the successful requests completed in the window, with when they ended (epoch ms). */
  tags: { tag: T; endedAtEpochMs: number }[];
  /** Every request sent, warm-up and drain included. */
  sent: number;
}

/**
 * A closed-loop load: `concurrency` clients, each sending its next request as soon as the last
 * one is answered. Requests that end during warm-up or after the window are not counted; when
 * the window closes no new request starts, and the ones in flight are awaited (so the next point
 * starts on an idle system).
 */
export async function closedLoop<T>(options: ClosedLoopOptions, request: (seq: number) => Promise<Completion<T>>): Promise<ClosedLoopResult<T>> {
  const startedAt = performance.now();
  let phase: 'warmup' | 'window' | 'done' = 'warmup';
  let windowStart = 0;
  let windowEnd = 0;
  let completions = 0;
  let seq = 0;
  const result: ClosedLoopResult<T> = {
    windowMs: 0,
    windowStartEpochMs: 0,
    windowEndEpochMs: 0,
    warmupMs: 0,
    ok: 0,
    failed: 0,
    statuses: {},
    latencies: [],
    tags: [],
    sent: 0,
  };

  const advance = (now: number): void => {
    if (phase === 'warmup') {
      const elapsed = now - startedAt;
      if ((elapsed >= options.warmupMs && completions >= options.concurrency) || elapsed >= options.maxWarmupMs) {
        phase = 'window';
        windowStart = now;
        options.onWindowStart?.();
      }
    } else if (phase === 'window' && now - windowStart >= options.durationMs) {
      phase = 'done';
      windowEnd = windowStart + options.durationMs;
      options.onWindowEnd?.();
    }
  };
  const clock = setInterval(() => advance(performance.now()), 5);

  const client = async (): Promise<void> => {
    while (phase !== 'done') {
      const sentAt = performance.now();
      let outcome: Completion<T>;
      try {
        outcome = await request(seq++);
      } catch (e) {
        outcome = { ok: false, status: errorLabel(e) };
      }
      const endedAt = performance.now();
      completions++;
      advance(endedAt);
      const inWindow = windowStart > 0 && endedAt >= windowStart && endedAt - windowStart <= options.durationMs;
      if (!inWindow) continue;
      result.statuses[outcome.status] = (result.statuses[outcome.status] ?? 0) + 1;
      if (outcome.ok) {
        result.ok++;
        result.latencies.push(endedAt - sentAt);
        if (outcome.tag !== undefined) result.tags.push({ tag: outcome.tag, endedAtEpochMs: performance.timeOrigin + endedAt });
      } else {
        result.failed++;
      }
    }
  };

  try {
    await Promise.all(Array.from({ length: options.concurrency }, () => client()));
  } finally {
    clearInterval(clock);
  }
  result.sent = seq;
  result.windowMs = windowEnd - windowStart;
  result.warmupMs = windowStart - startedAt;
  result.windowStartEpochMs = performance.timeOrigin + windowStart;
  result.windowEndEpochMs = performance.timeOrigin + windowEnd;
  return result;
}

function errorLabel(e: unknown): string {
  if (typeof e === 'object' && e !== null && 'code' in e && typeof (e as { code: unknown }).code === 'string') return (e as { code: string }).code;
  return e instanceof Error ? e.name : 'error';
}

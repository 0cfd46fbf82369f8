import type { Metrics } from '@argus/observability';
import { Logger, type OnModuleInit } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { Gauge } from 'prom-client';
import { Cached, countQueue, type QueueCounts, QUEUE_STATES, withTimeout } from './queue-depth';

/** A queue to count, and whether its waiting jobs are counted by priority (detection queues). */
export interface CountedQueue {
  queue: Queue;
  byPriority: boolean;
}

/** How long one round of counts answers scrapes: several Prometheus servers cost one round. */
const COUNTS_MAX_AGE_MS = 2000;
const COUNTS_TIMEOUT_MS = 1000;

/**
 * Queue depth as Prometheus gauges, counted when scraped (not on a timer): `argus_queue_jobs{queue,
 * state}` and `argus_queue_waiting_jobs{queue,priority}`. Every app that holds the queues exposes
 * them, so the numbers survive any one app being down; dashboards take max() over instances.
 * While Redis does not answer, the last counts are served and `argus_queue_counts_stale` is 1.
 */
export class QueueMetrics implements OnModuleInit {
  private readonly logger = new Logger(QueueMetrics.name);
  private last: QueueCounts[] = [];
  private stale = 0;

  constructor(
    /** The queues to count now (the detection queues follow the models known at the time). */
    private readonly queues: () => Promise<CountedQueue[]>,
    private readonly metrics: Metrics | undefined,
  ) {}

  onModuleInit(): void {
    const metrics = this.metrics;
    if (!metrics) return;
    const counts = new Cached(async () => Promise.all((await this.queues()).map((q) => countQueue(q.queue, q.byPriority))), COUNTS_MAX_AGE_MS);
    const refresh = async (): Promise<QueueCounts[]> => {
      try {
        this.last = await withTimeout(counts.get(), COUNTS_TIMEOUT_MS, 'queue counts');
        this.stale = 0;
      } catch (error) {
        if (this.stale === 0) this.logger.warn({ msg: 'queue counts unavailable; serving the last ones', error: error instanceof Error ? error.message : String(error) });
        this.stale = 1;
      }
      return this.last;
    };
    new Gauge({
      name: 'argus_queue_jobs',
      help: 'Jobs in each queue by state (waiting includes prioritized), counted at scrape time.',
      labelNames: ['queue', 'state'],
      registers: [metrics.registry],
      async collect() {
        const all = await refresh();
        this.reset();
        for (const q of all) for (const state of QUEUE_STATES) this.set({ queue: q.queue, state }, q.states[state]);
      },
    });
    new Gauge({
      name: 'argus_queue_waiting_jobs',
      help: 'Waiting detection jobs by priority (one queue per model), counted at scrape time.',
      labelNames: ['queue', 'priority'],
      registers: [metrics.registry],
      async collect() {
        const all = await refresh();
        this.reset();
        for (const q of all) {
          if (!q.waitingByPriority) continue;
          for (const [priority, n] of Object.entries(q.waitingByPriority)) this.set({ queue: q.queue, priority }, n);
        }
      },
    });
    const stale = () => this.stale;
    new Gauge({
      name: 'argus_queue_counts_stale',
      help: '1 when the queue gauges repeat old counts because Redis did not answer the last scrape.',
      registers: [metrics.registry],
      async collect() {
        await refresh();
        this.set(stale());
      },
    });
  }
}

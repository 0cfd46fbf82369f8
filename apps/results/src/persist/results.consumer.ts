import {
  ArgusStore,
  cappedBackoff,
  createRedis,
  isResultsEntry,
  type ResultsEntry,
  ResultsStreamConsumer,
  type UnreadableEntry,
} from '@argus/broker';
import { ARGUS_CONFIG, type ArgusConfig } from '@argus/config';
import { QueueName } from '@argus/contracts';
import { Metrics } from '@argus/observability';
import { type BeforeApplicationShutdown, Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { hostname } from 'node:os';
import { DatabaseWatch } from '../database/database-watch.service';
import { PersistService } from './persist.service';
import { isDatabaseOutage } from '../database/outage';

/** Messages read (and persisted with one INSERT) at once. */
const BATCH = 100;
/** How long a read waits for the first new message; also how soon a stop is noticed. */
const BLOCK_MS = 500;
/** While Postgres is away, how often to look whether it is back. */
const DATABASE_WAIT_MS = 250;
/** Messages another consumer read this long ago without acknowledging are taken over (it died). */
const ABANDONED_MS = 60_000;
const CLAIM_EVERY_MS = 15_000;
/** How long SIGTERM waits for the batch in hand: well inside the 30 s grace, with the pool's close after it. */
const STOP_WAIT_MS = 10_000;

/**
 * The consumer of the results stream (docs/adr/0011): reads finished work in batches, persists
 * each batch with one INSERT, then acknowledges and deletes it. Nothing is acknowledged before its
 * rows are in Postgres, so a crash or an outage only delays messages: they stay pending and are
 * read again (own pending first), and persistence is idempotent. While Postgres is away nothing
 * is read at all. A message that can never be persisted (unreadable, or failing alone for
 * RESULTS_ATTEMPTS deliveries for a reason other than Postgres being away) is moved to the
 * dead-letter stream with the reason.
 */
@Injectable()
export class ResultsConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(ResultsConsumer.name);
  private readonly connection: Redis;
  private readonly stream: ResultsStreamConsumer;
  private running = false;
  private loop: Promise<void> | undefined;
  /** Read this consumer's unacknowledged messages before new ones (at start, and after a failure). */
  private own = true;
  private failures = 0;
  private lastClaim = 0;
  private grouped = false;

  constructor(
    @Inject(ARGUS_CONFIG) private readonly config: ArgusConfig,
    store: ArgusStore,
    private readonly persistence: PersistService,
    private readonly database: DatabaseWatch,
    private readonly metrics: Metrics,
  ) {
    this.connection = createRedis(config.redis.url, { name: 'argus:results:consumer', failFast: false });
    this.stream = new ResultsStreamConsumer(this.connection, store.keys, `${hostname()}-${process.pid}`);
  }

  onApplicationBootstrap(): void {
    this.running = true;
    this.loop = this.run();
    this.logger.log({ msg: 'results consumer started', consumer: this.stream.name, batch: BATCH });
  }

  /**
   * SIGTERM: stop reading and let the batch in hand finish, before the database connection
   * closes (onApplicationShutdown hooks run together, so waiting there would race the pool).
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.running = false;
    // A batch stuck on a silent Postgres fails by itself once the client gives up; shutdown does
    // not wait that long: its messages stay pending (acknowledged only after their INSERT) and
    // are taken over, and persisting them again inserts nothing twice.
    let timer: NodeJS.Timeout | undefined;
    const stopped = await Promise.race([
      this.loop?.then(() => true),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), STOP_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
    if (stopped === false) this.logger.warn({ msg: 'the batch in hand did not finish in time; it stays pending for the next consumer', waitedMs: STOP_WAIT_MS });
    this.connection.disconnect();
    this.logger.log({ msg: 'results consumer stopped' });
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        if (!this.grouped) {
          await this.stream.ensureGroup();
          this.grouped = true;
        }
        if (!this.database.up) {
          await sleep(DATABASE_WAIT_MS);
          continue;
        }
        if (Date.now() - this.lastClaim >= CLAIM_EVERY_MS) {
          const claimed = await this.stream.claimAbandoned(ABANDONED_MS);
          this.lastClaim = Date.now();
          if (claimed > 0) {
            this.logger.warn({ msg: 'took over results messages another consumer left unfinished', count: claimed });
            this.own = true;
          }
        }
        const entries = await this.stream.read(BATCH, BLOCK_MS, this.own);
        if (entries.length === 0) {
          this.own = false;
          continue;
        }
        await this.handle(entries);
        this.failures = 0;
      } catch (error) {
        // Redis away, or a batch that failed: wait, then read our own unacknowledged messages again.
        this.failures += 1;
        this.own = true;
        // Redis lost the stream (restarted without persistence): make the group again.
        if (messageOf(error).includes('NOGROUP')) this.grouped = false;
        const waitMs = cappedBackoff(this.failures, 200);
        if (this.failures === 1 || this.failures % 10 === 0) {
          this.logger.warn({ msg: 'persisting results failed; will retry', error: messageOf(error), attempt: this.failures, waitMs });
        }
        await sleep(waitMs);
      }
    }
  }

  private async handle(entries: (ResultsEntry | UnreadableEntry)[]): Promise<void> {
    for (const entry of entries) {
      if (isResultsEntry(entry)) continue;
      this.logger.error({ msg: 'unreadable results message; set aside', entry: entry.id, reason: entry.reason });
      await this.stream.deadLetter(entry.id, `unreadable: ${entry.reason}`, entry.fields);
      this.metrics.jobsTotal.inc({ queue: QueueName.Results, outcome: 'failed', code: 'invalid_message' });
    }
    const readable = entries.filter(isResultsEntry);
    if (readable.length === 0) return;
    const started = performance.now();
    try {
      const inserted = await this.persistence.persist(readable);
      await this.stream.ack(readable.map((e) => e.id));
      this.done(readable, inserted, started);
      return;
    } catch (error) {
      this.outage(error);
      this.logger.warn({ msg: 'a batch of results failed; persisting its messages one by one', count: readable.length, error: messageOf(error) });
    }
    // One bad message must not hold the others back.
    let failure: unknown;
    for (const entry of readable) {
      try {
        const inserted = await this.persistence.persist([entry]);
        await this.stream.ack([entry.id]);
        this.done([entry], inserted, started);
      } catch (error) {
        this.outage(error);
        this.metrics.jobsTotal.inc({ queue: QueueName.Results, outcome: 'retried', code: 'persist_failed' });
        if (entry.deliveries >= this.config.worker.resultsAttempts) {
          this.logger.error({ msg: 'results message failed on every attempt; set aside', entry: entry.id, deliveries: entry.deliveries, error: messageOf(error) });
          await this.stream.deadLetter(entry.id, `failed ${entry.deliveries} times: ${messageOf(error)}`, entry.fields);
          this.metrics.jobsTotal.inc({ queue: QueueName.Results, outcome: 'failed', code: 'persist_failed' });
        } else {
          failure ??= error;
        }
      }
    }
    if (failure) throw failure;
  }

  /**
   * Rethrows an error that says Postgres is unavailable (read-only, too many clients, a timeout,
   * a lost connection: classified by SQLSTATE in database/outage.ts), after telling the database
   * watch, so that nothing more is read until a probe finds Postgres usable again: the messages
   * stay pending and are read again then, and no attempt is spent on them, none set aside.
   */
  private outage(error: unknown): void {
    if (!isDatabaseOutage(error)) return;
    this.database.report(error);
    throw error;
  }

  private done(entries: readonly ResultsEntry[], inserted: number, started: number): void {
    this.metrics.jobsTotal.inc({ queue: QueueName.Results, outcome: 'completed', code: '' }, entries.length);
    const rows = entries.reduce((n, e) => n + e.records.length, 0);
    this.logger.log({ msg: 'persisted', messages: entries.length, rows, inserted, ms: Math.round(performance.now() - started) });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

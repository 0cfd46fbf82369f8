import { ArgusStore, Batcher } from '@argus/broker';
import { ARGUS_CONFIG, type ArgusConfig } from '@argus/config';
import type { ModelInfo } from '@argus/contracts';
import { Metrics } from '@argus/observability';
import { DetectorSession, type ImageSlot, ModelError, primaryEntry, scanModelRepository } from '@argus/vision';
import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

const HEARTBEAT_MS = 5000;
const HEARTBEAT_TTL_S = 15;

/** A loaded, warmed model and the batcher in front of it. */
export interface HostedModel {
  session: DetectorSession;
  batcher: Batcher<ImageSlot, Float32Array>;
  info: ModelInfo;
}

/**
 * Loads every model of the repository once and warms each up; main.ts starts the worker only after
 * that. Publishes what it serves to Redis for the gateway, with a heartbeat.
 */
@Injectable()
export class ModelHost implements OnApplicationShutdown {
  readonly workerId = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  private readonly logger = new Logger(ModelHost.name);
  private readonly models = new Map<string, HostedModel>();
  private heartbeat: NodeJS.Timeout | undefined;
  private loaded = false;

  constructor(
    @Inject(ARGUS_CONFIG) private readonly config: ArgusConfig,
    private readonly store: ArgusStore,
    private readonly metrics: Metrics,
  ) {}

  /** Loads and warms every model, then publishes them. */
  async load(): Promise<void> {
    const { models: options } = this.config;
    const models = (await scanModelRepository(options.repository)).filter(
      (m) => options.only.length === 0 || options.only.includes(m.name),
    );
    const missing = options.only.filter((name) => !models.some((m) => m.name === name));
    if (missing.length > 0) throw new Error(`MODELS names ${missing.join(', ')}, not found in ${options.repository}`);
    if (models.length === 0) throw new Error(`No models to serve in ${options.repository}`);
    // One version per model for now: the one its model.json sends the most traffic to.
    const entries = models.map(primaryEntry);

    for (const entry of entries) {
      const session = await DetectorSession.create(entry, {
        executionProviders: options.executionProviders,
        intraOpThreads: options.intraOpThreads,
        interOpThreads: options.interOpThreads,
        spinning: options.spinning,
        thread: options.thread,
        warmupRuns: options.warmupRuns,
        maxBatchSize: options.maxBatchSize,
        modelThreads: options.modelThreads,
        // Every job the worker holds may be for this model, each with one image in flight.
        sharedSlots: this.config.worker.concurrency,
      });
      session.onFailure((error) => {
        // Every later run of this model would fail: exit, as after a crash. The jobs in hand are
        // taken over by another worker once their locks lapse (BullMQ's stalled-job check).
        this.logger.fatal({ msg: 'the model thread died; exiting', model: entry.name, error: error.message });
        process.exit(70);
      });
      const info: ModelInfo = { ...session.info(), updatedAt: new Date().toISOString() };
      const batcher = new Batcher<ImageSlot, Float32Array>((slots) => session.runSlots(slots), { maxBatchSize: session.maxBatchSize, maxWaitMs: options.batchMaxWaitMs, runsInFlight: session.modelThreads }, (size) =>
        this.metrics.batchSize.observe({ model: entry.name }, size),
      );
      this.models.set(entry.name, { session, batcher, info });
      this.metrics.modelInfo.set({ model: entry.name, version: entry.version, provider: session.provider, requested: options.executionProviders.join(',') }, 1);
      this.metrics.modelLoadSeconds.set({ model: entry.name, phase: 'load' }, session.loadMs / 1000);
      this.metrics.modelLoadSeconds.set({ model: entry.name, phase: 'warmup' }, session.warmupMs / 1000);
      this.logger.log({
        msg: 'model ready',
        model: entry.name,
        version: entry.version,
        family: session.spec.family,
        provider: session.provider,
        requested: options.executionProviders,
        fallback: session.fallbackReasons,
        notes: session.notes,
        maxBatchSize: session.maxBatchSize,
        loadMs: Math.round(session.loadMs),
        warmupMs: Math.round(session.warmupMs),
      });
    }
    this.loaded = true;
    await this.publish();
    this.heartbeat = setInterval(() => {
      this.publish().catch((error: unknown) => this.logger.warn({ msg: 'heartbeat failed', error: String(error) }));
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /** The model serving `name`; unknown names are a ModelError (unknown_model). */
  get(name: string): HostedModel {
    const model = this.models.get(name);
    if (!model) throw new ModelError('unknown_model', `This worker does not serve model "${name}" (it serves ${[...this.models.keys()].join(', ')})`);
    return model;
  }

  /** All hosted models. */
  all(): HostedModel[] {
    return [...this.models.values()];
  }

  /**
   * Ready when every model is loaded and warm, and none runs on CPU after CUDA was asked for
   * (unless ALLOW_CPU_FALLBACK says that is acceptable).
   */
  readiness(): { ok: boolean; detail: unknown } {
    if (!this.loaded) return { ok: false, detail: 'models loading' };
    const wanted = this.config.models.executionProviders[0] ?? 'cpu';
    const fellBack = this.all().filter((m) => m.session.provider !== wanted);
    if (fellBack.length > 0 && !this.config.models.allowCpuFallback) {
      return {
        ok: false,
        detail: fellBack.map((m) => ({
          model: m.info.name,
          asked: wanted,
          running: m.session.provider,
          why: m.session.fallbackReasons,
          fix: 'install the provider libraries, or set ALLOW_CPU_FALLBACK=true to serve on CPU',
        })),
      };
    }
    return { ok: true, detail: this.all().map((m) => ({ model: m.info.name, version: m.info.version, provider: m.session.provider })) };
  }

  private async publish(): Promise<void> {
    await this.store.publishModels(this.workerId, this.all().map((m) => m.info), HEARTBEAT_TTL_S);
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    await this.store.withdrawWorker(this.workerId).catch(() => undefined);
    await Promise.allSettled(this.all().map((m) => m.session.release()));
  }
}

import { Controller, Get, Global, Header, Inject, Module, type DynamicModule } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { TracingShutdown } from './tracing';

/** Latency buckets in seconds, dense where Argus lives (2-100 ms). */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** The Prometheus registry of one app, with the metrics every Argus app shares. */
export class Metrics {
  readonly registry = new Registry();
  readonly stageSeconds: Histogram<'stage' | 'model' | 'version'>;
  readonly batchSize: Histogram<'model' | 'version'>;
  readonly jobsTotal: Counter<'queue' | 'version' | 'outcome' | 'code'>;
  readonly cacheLookups: Counter<'result'>;
  readonly modelInfo: Gauge<'model' | 'version' | 'provider' | 'requested'>;
  readonly modelLoadSeconds: Gauge<'model' | 'version' | 'phase'>;
  readonly modelLoadFailures: Counter<'model' | 'version'>;
  readonly modelVersionState: Gauge<'model' | 'version' | 'state'>;
  readonly modelVersionWeight: Gauge<'model' | 'version'>;

  constructor(
    readonly app: string,
    build: { version: string; commit: string } = { version: 'dev', commit: 'unknown' },
  ) {
    this.registry.setDefaultLabels({ app });
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'argus_build_info',
      help: 'Always 1; the labels say which build runs (release version, source commit, Node.js).',
      labelNames: ['version', 'commit', 'node'],
      registers: [this.registry],
    }).set({ version: build.version, commit: build.commit, node: process.version }, 1);
    this.stageSeconds = new Histogram({
      name: 'argus_stage_seconds',
      help: 'Time spent in each stage of a detection (queue_wait, fetch, preprocess, inference, postprocess, persist, end_to_end).',
      labelNames: ['stage', 'model', 'version'],
      buckets: LATENCY_BUCKETS,
      registers: [this.registry],
    });
    this.batchSize = new Histogram({
      name: 'argus_batch_size',
      help: 'Images per model run.',
      labelNames: ['model', 'version'],
      buckets: [1, 2, 3, 4, 6, 8, 12, 16, 24, 32],
      registers: [this.registry],
    });
    this.jobsTotal = new Counter({
      name: 'argus_jobs_total',
      help: 'Jobs finished, by queue, model version asked for (detection queues), outcome (completed, failed, retried) and error code.',
      labelNames: ['queue', 'version', 'outcome', 'code'],
      registers: [this.registry],
    });
    this.cacheLookups = new Counter({
      name: 'argus_cache_lookups_total',
      help: 'Result cache lookups at admission, by result (hit, miss).',
      labelNames: ['result'],
      registers: [this.registry],
    });
    this.modelInfo = new Gauge({
      name: 'argus_model_info',
      help: 'Model versions loaded by this process (serving or draining): 1 per version, labelled with the execution provider in use.',
      labelNames: ['model', 'version', 'provider', 'requested'],
      registers: [this.registry],
    });
    this.modelLoadSeconds = new Gauge({
      name: 'argus_model_load_seconds',
      help: 'Load and warm-up time of each model version loaded.',
      labelNames: ['model', 'version', 'phase'],
      registers: [this.registry],
    });
    this.modelLoadFailures = new Counter({
      name: 'argus_model_load_failures_total',
      help: 'Model versions that could not be loaded (unreadable, unrecognised, failed warm-up, wrong execution provider); the version already serving, if any, goes on.',
      labelNames: ['model', 'version'],
      registers: [this.registry],
    });
    this.modelVersionState = new Gauge({
      name: 'argus_model_version_state',
      help: 'Where each model version stands in this process: 1 for its state (loading, serving, draining, failed, unloaded), 0 for the others.',
      labelNames: ['model', 'version', 'state'],
      registers: [this.registry],
    });
    this.modelVersionWeight = new Gauge({
      name: 'argus_model_version_weight',
      help: 'Traffic weight of each model version (model.json weights), relative to the other versions of its model.',
      labelNames: ['model', 'version'],
      registers: [this.registry],
    });
  }

  /** Records a stage duration in milliseconds. */
  observeStage(stage: string, ms: number, model = '', version = ''): void {
    this.stageSeconds.observe({ stage, model, version }, ms / 1000);
  }
}

@Controller()
class MetricsController {
  constructor(@Inject(Metrics) private readonly metrics: Metrics) {}

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}

/**
 * An injectable {@link Metrics} for the whole app, and `/metrics` on its main port unless
 * `route` is false (an app with a public port serves them on its operations port instead).
 */
@Global()
@Module({})
export class MetricsModule {
  static forRoot(app: string, options: { route?: boolean; build?: { version: string; commit: string } } = {}): DynamicModule {
    return {
      module: MetricsModule,
      controllers: options.route === false ? [] : [MetricsController],
      providers: [{ provide: Metrics, useValue: new Metrics(app, options.build) }, TracingShutdown],
      exports: [Metrics],
    };
  }
}

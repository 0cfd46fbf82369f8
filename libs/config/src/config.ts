import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { parseApiKeys } from './api-keys';
import { envSchema } from './env.schema';

/**
 * Model threads when MODEL_THREADS is 0: one on a GPU (it runs one batch at a time anyway, and
 * each session holds its own GPU memory); on a CPU one per core, at most 4, so that the model is
 * never the one serial stage the decoding waits behind (docs/performance.md).
 */
export function autoModelThreads(providers: readonly string[], cpus: number): number {
  const first = providers[0] ?? 'cpu';
  if (first !== 'cpu') return 1;
  return Math.max(1, Math.min(4, cpus));
}

/** Argus configuration, validated and grouped. Read once at start; never from process.env elsewhere. */
export function buildConfig(env: Record<string, string | undefined>) {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Invalid configuration: ${problems}`);
  }
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';
  return Object.freeze({
    env: e.NODE_ENV,
    production,
    log: { level: e.LOG_LEVEL, format: e.LOG_FORMAT ?? (production ? 'json' : 'pretty') },
    redis: { url: e.REDIS_URL, prefix: e.QUEUE_PREFIX },
    database: {
      url: e.DATABASE_URL,
      schema: e.DATABASE_SCHEMA,
      statementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT_MS,
      lockTimeoutMs: e.DATABASE_LOCK_TIMEOUT_MS,
      connectTimeoutMs: e.DATABASE_CONNECT_TIMEOUT_MS,
    },
    models: {
      repository: resolve(e.MODEL_REPOSITORY),
      default: e.DEFAULT_MODEL,
      only: e.MODELS,
      executionProviders: e.EXECUTION_PROVIDERS,
      allowCpuFallback: e.ALLOW_CPU_FALLBACK,
      pollSeconds: e.MODEL_POLL_SECONDS,
      unavailableJobs: e.UNAVAILABLE_MODEL_JOBS,
      cuda: { deviceId: e.CUDA_DEVICE_ID },
      intraOpThreads: e.INTRA_OP_THREADS,
      modelThreads: e.MODEL_THREADS > 0 ? e.MODEL_THREADS : autoModelThreads(e.EXECUTION_PROVIDERS, availableParallelism()),
      interOpThreads: e.INTER_OP_THREADS,
      spinning: e.ORT_SPINNING,
      thread: e.INFERENCE_THREAD,
      warmupRuns: e.WARMUP_RUNS,
      maxBatchSize: e.MAX_BATCH_SIZE,
      batchMaxWaitMs: e.BATCH_MAX_WAIT_MS,
    },
    worker: {
      concurrency: e.WORKER_CONCURRENCY,
      attempts: e.JOB_ATTEMPTS,
      backoffMs: e.JOB_BACKOFF_MS,
      lockMs: e.JOB_LOCK_MS,
      stalledIntervalMs: e.JOB_STALLED_INTERVAL_MS,
      resultsAttempts: e.RESULTS_ATTEMPTS,
    },
    limits: {
      maxImageBytes: e.MAX_IMAGE_BYTES,
      maxJsonBytes: e.MAX_JSON_BODY_BYTES,
      maxImagePixels: e.MAX_IMAGE_PIXELS,
      maxWaitMs: e.WAIT_MAX_MS,
      maxQueueDepth: e.MAX_QUEUE_DEPTH,
      maxRedisMemoryPercent: e.MAX_REDIS_MEMORY_PERCENT,
    },
    auth: {
      keys: parseApiKeys(e.API_KEYS),
      cacheSeconds: e.API_KEY_CACHE_SECONDS,
      rateLimit: { perSecond: e.RATE_LIMIT_PER_SECOND, burst: e.RATE_LIMIT_BURST },
    },
    cors: { origins: e.CORS_ORIGINS },
    defaults: {
      confidence: e.DEFAULT_CONFIDENCE,
      iou: e.DEFAULT_IOU,
      maxDetections: e.DEFAULT_MAX_DETECTIONS,
    },
    cache: { scope: e.CACHE_SCOPE },
    retention: {
      cacheTtlSeconds: e.CACHE_TTL_SECONDS,
      negativeCacheTtlSeconds: e.NEGATIVE_CACHE_TTL_SECONDS,
      cacheMaxEntries: e.CACHE_MAX_ENTRIES,
      imageTtlSeconds: e.IMAGE_TTL_SECONDS,
      imageRetentionSeconds: e.IMAGE_RETENTION_SECONDS,
      requestTtlSeconds: e.REQUEST_TTL_SECONDS,
      idempotencyTtlSeconds: e.IDEMPOTENCY_TTL_SECONDS,
      reconcileAfterSeconds: e.RECONCILE_AFTER_SECONDS,
    },
    gateway: { host: e.GATEWAY_HOST, port: e.GATEWAY_PORT, trustProxy: trustProxy(e.TRUST_PROXY), metrics: { host: e.GATEWAY_METRICS_HOST, port: e.GATEWAY_METRICS_PORT } },
    inference: { host: e.INFERENCE_HOST, port: e.INFERENCE_PORT },
    results: {
      host: e.RESULTS_HOST,
      port: e.RESULTS_PORT,
      rpcHost: e.RESULTS_RPC_HOST,
      rpcPort: e.RESULTS_RPC_PORT,
      rpcTimeoutMs: e.RESULTS_RPC_TIMEOUT_MS,
    },
    admin: e.ADMIN_USER && e.ADMIN_PASSWORD ? { user: e.ADMIN_USER, password: e.ADMIN_PASSWORD } : null,
    adminLogins: { maxFailures: e.ADMIN_MAX_FAILED_LOGINS, windowMs: e.ADMIN_FAILED_LOGIN_WINDOW_SECONDS * 1000 },
    graphql: {
      maxDepth: e.GRAPHQL_MAX_DEPTH,
      maxCost: e.GRAPHQL_MAX_COST,
      maxDocumentBytes: e.GRAPHQL_MAX_DOCUMENT_BYTES,
      maxTokens: e.GRAPHQL_MAX_TOKENS,
      ws: { maxPayloadBytes: e.GRAPHQL_WS_MAX_PAYLOAD_BYTES, initTimeoutMs: e.GRAPHQL_WS_INIT_TIMEOUT_MS, maxSubscriptions: e.GRAPHQL_WS_MAX_SUBSCRIPTIONS },
    },
    events: { heartbeatMs: e.EVENTS_HEARTBEAT_MS },
    tracing: {
      enabled:
        !e.OTEL_SDK_DISABLED &&
        e.OTEL_TRACES_EXPORTER !== 'none' &&
        (e.OTEL_TRACES_EXPORTER === 'otlp' || e.OTEL_EXPORTER_OTLP_ENDPOINT !== '' || e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT !== ''),
      serviceName: e.OTEL_SERVICE_NAME,
    },
    build: { commit: e.BUILD_COMMIT, version: e.BUILD_VERSION },
    urlFetch: { allow: e.URL_FETCH_ALLOW, timeoutMs: e.URL_FETCH_TIMEOUT_MS },
    batches: { maxImages: e.BATCH_MAX_IMAGES, maxBytes: e.BATCH_MAX_BYTES },
    webhooks: {
      secret: e.WEBHOOK_SECRET,
      encryptionSecret: e.WEBHOOK_ENCRYPTION_SECRET,
      attempts: e.WEBHOOK_ATTEMPTS,
      backoffMs: e.WEBHOOK_BACKOFF_MS,
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
    },
    resultsRetentionDays: e.RESULTS_RETENTION_DAYS,
  });
}

export type ArgusConfig = ReturnType<typeof buildConfig>;

/** TRUST_PROXY as Express takes it: false, a hop count, or a list of proxy addresses/CIDRs. */
export function trustProxy(value: string): boolean | number | string[] {
  const v = value.trim();
  if (v === '' || v === 'false') return false;
  if (/^\d+$/.test(v)) return Number(v);
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** The names of every variable the schema knows (for checking deployment files). */
export function knownEnvVars(): string[] {
  return Object.keys(envSchema.shape);
}

/**
 * Loads `.env` from the working directory (if there is one; variables already set win) and
 * builds the configuration from the process environment.
 */
export function loadConfig(): ArgusConfig {
  const file = resolve('.env');
  if (existsSync(file)) process.loadEnvFile(file);
  return buildConfig(process.env);
}

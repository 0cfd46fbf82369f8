import { z } from 'zod';
import { ARGUS_VERSION } from './version';

const int = (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback);
const num = (fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().min(min).max(max).default(fallback);
const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');
const list = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0),
    );

/** The shortest ADMIN_PASSWORD accepted. */
export const MIN_ADMIN_PASSWORD_LENGTH = 12;

/**
 * Every environment variable Argus reads, with its default. This is the single list: the apps,
 * the CLI, docker-compose.yml, .env.example and the Kubernetes ConfigMap are checked against it.
 */
export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  /** json: one JSON object per line (production); pretty: one readable line (local runs). */
  LOG_FORMAT: z.enum(['json', 'pretty']).optional(),

  REDIS_URL: z.string().default('redis://127.0.0.1:6379'),
  /** Prefix of every Redis key Argus writes (BullMQ queues included); tests use a fresh one each. */
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/)
    .default('argus'),
  DATABASE_URL: z.string().default('postgres://postgres@127.0.0.1:5432/argus'),
  /**
   * Longest a Postgres statement of apps/results may run (server-side statement_timeout); a client
   * that hears nothing for 5 s longer (a hung or unreachable server) gives up on its own.
   */
  DATABASE_STATEMENT_TIMEOUT_MS: int(15000, 100),
  /** Longest a statement waits for a lock (lock_timeout) before failing; the work is retried. */
  DATABASE_LOCK_TIMEOUT_MS: int(5000, 10),
  /** Longest opening a Postgres connection (or waiting for a free one in the pool) may take. */
  DATABASE_CONNECT_TIMEOUT_MS: int(5000, 100),
  /** Postgres schema holding Argus's tables; created if missing. */
  DATABASE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/)
    .default('public'),

  MODEL_REPOSITORY: z.string().default('models'),
  DEFAULT_MODEL: z.string().default('yolox-nano'),
  /** Models to load (comma-separated names); empty loads every model in the repository. */
  MODELS: list(''),
  /** ONNX Runtime execution providers in order of preference, e.g. "cuda,cpu". */
  EXECUTION_PROVIDERS: list('cpu'),
  /** When CUDA is asked for but the model ends up on CPU, stay ready anyway. */
  ALLOW_CPU_FALLBACK: bool(false),
  /**
   * Seconds between looks at the model repository: models and versions added are loaded, warmed
   * and then served; changed ones reloaded; removed ones drained and released, with no restart.
   * 0 turns polling off (the admin API's load, unload and reload still apply).
   */
  MODEL_POLL_SECONDS: int(10),
  /**
   * A request for a model that the live inference processes report unavailable (no version can be
   * loaded, or an operator unloaded it): `wait` accepts it and its job waits in its queue; `fail`
   * answers 503 model_unavailable with the reason. A model no live process holds (a pool scaled to
   * zero) is always accepted.
   */
  UNAVAILABLE_MODEL_JOBS: z.enum(['wait', 'fail']).default('wait'),
  /**
   * CUDA device ordinal the models run on (among the devices CUDA_VISIBLE_DEVICES shows), so a
   * process can be pinned to one GPU. onnxruntime-node's CUDA provider takes no other option.
   */
  CUDA_DEVICE_ID: int(0),
  /** ONNX Runtime intra-op threads per model thread; 0 lets ONNX Runtime decide (every core). */
  INTRA_OP_THREADS: int(1),
  /**
   * Model runs side by side per model, each an ONNX Runtime session on a thread of its own. 0:
   * automatic (1 when the first execution provider is a GPU's; on CPU one per core, at most 4).
   */
  MODEL_THREADS: int(0),
  INTER_OP_THREADS: int(0),
  /** Let ONNX Runtime's idle threads spin for work: lower latency between runs, CPU burnt while idle. */
  ORT_SPINNING: bool(false),
  /** Run each model on a thread of its own (onnxruntime-node's run() blocks the event loop otherwise). */
  INFERENCE_THREAD: bool(true),
  WARMUP_RUNS: int(2),
  /** Largest batch run at once when the model's batch dimension is dynamic. */
  MAX_BATCH_SIZE: int(8, 1),
  /** How long a ready image may wait for company before its batch runs. 0: never wait. */
  BATCH_MAX_WAIT_MS: int(0),
  /** Jobs an inference process holds at once (fetching, decoding, waiting for the model). */
  WORKER_CONCURRENCY: int(8, 1),

  JOB_ATTEMPTS: int(3, 1),
  JOB_BACKOFF_MS: int(500, 0),
  /** BullMQ lock: a job whose worker stops renewing it for this long is taken back. */
  JOB_LOCK_MS: int(30000, 1000),
  JOB_STALLED_INTERVAL_MS: int(15000, 500),
  /** Deliveries of a results message failing for a reason other than Postgres being away, before it is set aside. */
  RESULTS_ATTEMPTS: int(25, 1),

  MAX_IMAGE_BYTES: int(20 * 1024 * 1024, 1),
  /** Largest JSON body of an API route other than GraphQL (which takes up to a base64 MAX_IMAGE_BYTES image); larger gets 413. */
  MAX_JSON_BODY_BYTES: int(64 * 1024, 1024),
  MAX_IMAGE_PIXELS: int(100_000_000, 1),
  /** Upper bound of the `wait` query parameter. */
  WAIT_MAX_MS: int(30000),
  /**
   * Detection jobs waiting (not yet taken by a worker) above which new work is refused with 503 and
   * Retry-After; cache hits are still served. 0 turns the limit off.
   */
  MAX_QUEUE_DEPTH: int(5000),
  /**
   * Percent of Redis's maxmemory above which new work is refused with 503 and Retry-After (cache
   * hits are still served). The rest is the room the pipeline needs to finish what it holds. 0
   * turns the check off; it does nothing while Redis has no maxmemory.
   */
  MAX_REDIS_MEMORY_PERCENT: int(85),
  DEFAULT_CONFIDENCE: num(0.25, 0, 1),
  DEFAULT_IOU: num(0.45, 0, 1),
  DEFAULT_MAX_DETECTIONS: int(300, 1),

  CACHE_TTL_SECONDS: int(86400, 1),
  /**
   * Who shares results and in-flight work. tenant: each API client its own (another client's
   * upload of the same photo runs the model again, so nobody can learn what others sent);
   * global: every client shares them (one organisation behind all keys; fewer inferences).
   */
  CACHE_SCOPE: z.enum(['tenant', 'global']).default('tenant'),
  /** How long a deterministic failure (a corrupt image) is remembered for identical requests. */
  NEGATIVE_CACHE_TTL_SECONDS: int(300, 1),
  /** Upper bound for image bytes waiting in Redis for their job. */
  IMAGE_TTL_SECONDS: int(6 * 3600, 60),
  /** How long image bytes stay after their last job ends (for annotated images). 0 drops them. */
  IMAGE_RETENTION_SECONDS: int(600),
  /** Upper bound for how long a request's record stays in Redis: once its row is in Postgres, a few minutes more. */
  REQUEST_TTL_SECONDS: int(7 * 86400, 60),
  /** Most results kept in the cache at once (the oldest go first): its size is bounded, not only its age. */
  CACHE_MAX_ENTRIES: int(100_000, 1),
  /** How long an Idempotency-Key names its request. */
  IDEMPOTENCY_TTL_SECONDS: int(86400, 60),
  /**
   * How long after admission a request that is not yet in Postgres is first looked at by the
   * reconciler (which adds a job a crash left out, or hands over a result that never reached
   * apps/results). Shorter than that and it would chase work that is merely queued.
   */
  RECONCILE_AFTER_SECONDS: int(60, 5),

  /**
   * API keys the gateway accepts (a secret): comma-separated raw keys (16+ characters) or
   * `sha256:<hex>` of a key, each optionally `name:` first (the client id). Keys can also be managed
   * in Postgres with the keys CLI (docs/operations.md). Every /v1 route and /graphql needs one.
   */
  API_KEYS: z.string().default(''),
  /** Seconds the gateway trusts a key it verified with apps/results: revoking one takes this long. */
  API_KEY_CACHE_SECONDS: int(30),
  /** Requests per second per API key (token bucket in Redis); 0 turns the limit off. */
  RATE_LIMIT_PER_SECOND: num(100),
  /** Requests a key may send at once before the rate applies (the bucket's size). */
  RATE_LIMIT_BURST: int(200, 1),
  /** Browser origins allowed to call the API (comma-separated, or *); empty sends no CORS headers. */
  CORS_ORIGINS: list(''),

  GATEWAY_HOST: z.string().default('0.0.0.0'),
  GATEWAY_PORT: int(3000),
  /**
   * Which proxies in front of the gateway to believe about the client's address (X-Forwarded-For),
   * as Express's `trust proxy`: `false` (none: the peer is the client), a hop count (`1`: one load
   * balancer), or comma-separated addresses/CIDRs of the proxies. Per-address limits (the admin
   * sign-in lockout) count the address this yields.
   */
  TRUST_PROXY: z.string().default('false'),
  /** The gateway's operations port: /metrics and detailed health, kept off the public API port. */
  GATEWAY_METRICS_HOST: z.string().default('0.0.0.0'),
  GATEWAY_METRICS_PORT: int(3004),
  INFERENCE_HOST: z.string().default('0.0.0.0'),
  INFERENCE_PORT: int(3001),
  RESULTS_HOST: z.string().default('0.0.0.0'),
  RESULTS_PORT: int(3002),
  /** Where apps/results listens for the gateway's reads (@nestjs/microservices over TCP). */
  RESULTS_RPC_HOST: z.string().default('127.0.0.1'),
  RESULTS_RPC_PORT: int(3003),
  RESULTS_RPC_TIMEOUT_MS: int(5000, 100),

  /** Bull Board (/admin/queues) basic-auth user; the board is off (404) unless both are set. */
  ADMIN_USER: z.string().default(''),
  /** Bull Board basic-auth password; a secret. At least 12 characters: apps refuse to start with a shorter one. */
  ADMIN_PASSWORD: z
    .string()
    .default('')
    .refine((v) => v === '' || v.length >= MIN_ADMIN_PASSWORD_LENGTH, {
      message: `must be at least ${MIN_ADMIN_PASSWORD_LENGTH} characters (a long random one is best): it guards Bull Board, and with it every job's details`,
    }),
  /** Failed Bull Board sign-ins one client address may make per window before it gets 429 until the window ends. */
  ADMIN_MAX_FAILED_LOGINS: int(10, 1),
  /** The window, in seconds, over which failed Bull Board sign-ins are counted (in Redis, shared by every gateway). */
  ADMIN_FAILED_LOGIN_WINDOW_SECONDS: int(900, 1),
  /** Deepest field nesting a GraphQL operation may have (introspection fields excepted). */
  GRAPHQL_MAX_DEPTH: int(8, 1),
  /** Largest estimated cost of a GraphQL operation (1 per field, introspection included; lists multiplied by `first`). */
  GRAPHQL_MAX_COST: int(5000, 1),
  /** Largest GraphQL document (the query text, not its variables) in bytes; larger gets 413 before it is parsed. */
  GRAPHQL_MAX_DOCUMENT_BYTES: int(32 * 1024, 1024),
  /** Most lexical tokens a GraphQL document may have; parsing stops there (400). */
  GRAPHQL_MAX_TOKENS: int(2000, 100),
  /** Largest graphql-ws message (WebSocket frame) in bytes; a larger one closes the socket (1009). */
  GRAPHQL_WS_MAX_PAYLOAD_BYTES: int(64 * 1024, 1024),
  /** How long a graphql-ws socket may take to send connection_init (its API key) before it is closed (4408). */
  GRAPHQL_WS_INIT_TIMEOUT_MS: int(5000, 100),
  /** Subscriptions one graphql-ws socket may hold at once. */
  GRAPHQL_WS_MAX_SUBSCRIPTIONS: int(10, 1),
  /** Interval of Server-Sent Events heartbeats (comment lines) on /v1/detections/:id/events. */
  EVENTS_HEARTBEAT_MS: int(15000, 100),

  /**
   * OpenTelemetry traces, off by default: on when OTEL_TRACES_EXPORTER is `otlp`, or an OTLP
   * endpoint is set (and OTEL_TRACES_EXPORTER is not `none`). The exporter reads the other
   * OTEL_EXPORTER_OTLP_* variables (headers, protocol, timeouts) itself, as the spec says.
   */
  OTEL_SDK_DISABLED: bool(false),
  OTEL_TRACES_EXPORTER: z.string().default(''),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().default(''),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.string().default(''),
  /** The service name on spans; default `argus-<app>`. */
  OTEL_SERVICE_NAME: z.string().default(''),
  /** The source revision the image was built from, for the argus_build_info metric (set by the image build). */
  BUILD_COMMIT: z.string().default('unknown'),
  /** The release, for the argus_build_info metric; defaults to this source tree's version. */
  BUILD_VERSION: z.string().default(ARGUS_VERSION),
  /**
   * Hosts or CIDRs (comma-separated) that image URLs and callback URLs may reach although they are
   * loopback, private, link-local or metadata addresses, e.g. `10.1.2.0/24,images.internal`. Empty:
   * only public addresses.
   */
  URL_FETCH_ALLOW: list(''),
  /** Longest an image URL may take to answer in full (redirects included). */
  URL_FETCH_TIMEOUT_MS: int(10000, 100),
  /** Most images (files and URLs) in one batch. */
  BATCH_MAX_IMAGES: int(100, 1),
  /** Most bytes of images in one batch (uploaded and fetched together). */
  BATCH_MAX_BYTES: int(100 * 1024 * 1024, 1),
  /**
   * Signs the webhooks of keys from API_KEYS (a secret): `whsec_<base64>` (the key is the decoded
   * bytes) or any text (its UTF-8 bytes). Empty: those keys cannot ask for webhooks. Keys made
   * with the keys CLI have their own secret.
   */
  WEBHOOK_SECRET: z.string().default(''),
  /**
   * Seals the webhook secrets of CLI-made keys in Postgres (AES-256-GCM under a key derived from
   * it; a secret): a copy of the database alone then cannot sign webhooks. Empty: they are stored
   * as they are. Changing it makes stored secrets unreadable: rotate them with the keys CLI.
   */
  WEBHOOK_ENCRYPTION_SECRET: z.string().default(''),
  /** Deliveries of a webhook before it stays failed (the backoff doubles from WEBHOOK_BACKOFF_MS, at most 15 minutes apart). */
  WEBHOOK_ATTEMPTS: int(15, 1),
  /** Wait before the first redelivery of a webhook the receiver did not take. */
  WEBHOOK_BACKOFF_MS: int(5000, 10),
  /** Longest a receiver may take to answer a webhook. */
  WEBHOOK_TIMEOUT_MS: int(10000, 100),
  /** Detections older than this many days are deleted (hourly, a slice at a time); 0 keeps them all. */
  RESULTS_RETENTION_DAYS: int(30, 0),
});

export type Env = z.infer<typeof envSchema>;

// The shapes the Argus REST API sends and takes, declared here rather than imported from the
// workspace's contracts lib: the published package must stand alone (no workspace imports, no
// zod). contracts.spec.ts checks that what the server's contracts describe still fits these.
// Unions end in `(string & {})` where the server may add values: a client built today keeps
// working against tomorrow's server, and editors still suggest the known values.

/** Queue priority of a detection. */
export type Priority = 'high' | 'normal' | 'low';

/** queued -> active -> completed or failed; a waiting detection can be canceled. */
export type DetectionStatus = 'queued' | 'active' | 'completed' | 'failed' | 'canceled';

/** The stable error codes of the API (`error.code`); switch on these, not on messages. */
export type ApiErrorCode =
  | 'validation_failed'
  | 'missing_image'
  | 'unknown_model'
  | 'unknown_class'
  | 'not_found'
  | 'idempotency_key_reused'
  | 'not_ready'
  | 'unauthorized'
  | 'forbidden'
  | 'rate_limited'
  | 'payload_too_large'
  | 'url_not_allowed'
  | 'url_fetch_failed'
  | 'empty_image'
  | 'not_an_image'
  | 'unsupported_image_type'
  | 'truncated_image'
  | 'corrupt_image'
  | 'image_too_large'
  | 'image_expired'
  | 'invalid_model'
  | 'no_models'
  | 'model_unavailable'
  | 'overloaded'
  | 'unavailable'
  | 'deadline_exceeded'
  | 'inference_failed'
  | 'internal_error';

/** An error as the API describes it. */
export interface ErrorInfo {
  code: ApiErrorCode | (string & {});
  message: string;
}

/** The body of every error response. */
export interface ErrorBody {
  error: ErrorInfo;
}

/** Box corners in the displayed image's pixels. */
export interface Box {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

/** One object found in the image. */
export interface DetectedObject {
  label: string;
  classId: number;
  score: number;
  box: Box;
}

/** A model and the version that ran. */
export interface ModelRef {
  name: string;
  version: string;
}

/** The image as displayed (EXIF orientation applied). */
export interface ImageInfo {
  width: number;
  height: number;
  sha256: string;
}

/** Milliseconds per stage; stages that did not run are absent (a cache hit has none). */
export interface Timings {
  queueWait?: number;
  fetch?: number;
  preprocess?: number;
  inference?: number;
  postprocess?: number;
  persist?: number;
  total?: number;
  batchSize?: number;
}

/** The decoding parameters a detection ran with, defaults applied. */
export interface DetectionParams {
  confidence: number;
  iou: number;
  /** The class filter as given (labels); null keeps every class. */
  classes: string[] | null;
  maxDetections: number;
  agnostic: boolean;
}

/** A detection request at any stage (`GET /v1/detections/:id`). */
export interface DetectionView {
  id: string;
  status: DetectionStatus;
  priority: Priority;
  model: ModelRef;
  image: ImageInfo;
  params: DetectionParams;
  detections: DetectedObject[];
  timings: Timings;
  /** Answered from the result cache. */
  cached: boolean;
  /** Why it failed; null otherwise. */
  error: ErrorInfo | null;
  /** The execution provider that ran the model (cpu, cuda). */
  provider: string | null;
  correlationId: string | null;
  /** ISO-8601 UTC. */
  createdAt: string;
  /** ISO-8601 UTC; null until it ends. */
  completedAt: string | null;
  /** Something to know about where it stands, e.g. that no inference process serves its model right now. */
  note?: string;
}

/** One page of `GET /v1/detections`, newest first. */
export interface DetectionPage {
  items: DetectionView[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

/** One version of a model: its traffic weight and where it stands. */
export interface ModelVersionSummary {
  version: string;
  /** sha256 of the model file and the settings it runs with; null when unreadable. */
  digest: string | null;
  /** Relative share of the requests that do not name a version. */
  weight: number;
  state: 'loading' | 'serving' | 'draining' | 'failed' | 'unloaded' | 'offline' | (string & {});
  /** Why it does not serve; null while it serves. */
  reason: string | null;
  /** Inference processes serving this version now. */
  workers: number;
}

/** A model as `GET /v1/models` lists it; the fields describe its primary version (the most traffic). */
export interface ModelSummary {
  name: string;
  /** The primary version: the version folder's name, or the first 12 hex digits of the model file's sha256. Pin one with `model: 'name@version'`. */
  version: string;
  family: 'yolox' | 'yolov8' | 'detr' | (string & {});
  input: { width: number; height: number };
  dynamicBatch: boolean;
  maxBatchSize: number;
  /** The execution provider that actually runs the model. */
  provider: string;
  requestedProviders: string[];
  updatedAt: string;
  /** Inference processes serving the model now. */
  workers: number;
  /** How many classes (labels) the model knows. */
  classes: number;
  state: 'serving' | 'loading' | 'unavailable' | 'unloaded' | 'offline' | (string & {});
  /** Why it does not serve; null while it serves. */
  reason: string | null;
  /** Every version, oldest first. */
  versions: ModelVersionSummary[];
}

/** Where a batch stands. */
export type BatchStatus = 'queued' | 'active' | 'completed' | (string & {});

/** One image of a batch: its detection's id and the image's name (file name or URL). */
export interface BatchItem {
  id: string;
  image: string;
}

/** A batch (`POST /v1/batches`, `GET /v1/batches/:id`). */
export interface BatchView {
  id: string;
  status: BatchStatus;
  total: number;
  completed: number;
  failed: number;
  items: BatchItem[];
  /** ISO-8601 UTC. */
  createdAt?: string;
  /** ISO-8601 UTC; null until every image has ended. */
  completedAt?: string | null;
}

/**
 * One line of a batch's JSONL results: the item's detection, with `image` the name of the image it
 * came from (the file name, or the URL) and the view's image facts in `imageInfo`.
 */
export type BatchResult = Omit<DetectionView, 'image'> & { image: string; imageInfo: ImageInfo };

/** The body of a webhook delivery. */
export type WebhookEvent =
  | { type: 'detection.completed'; data: DetectionView }
  | { type: 'detection.failed'; data: DetectionView }
  | { type: 'batch.completed'; data: BatchView };

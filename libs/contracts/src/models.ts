import { z } from 'zod';
import { VERSION_NAME } from './versions';

/** Output conventions libs/vision decodes: YOLOX and Ultralytics heads, and DETR-family exports (RT-DETR, D-FINE, DEIM). */
export const MODEL_FAMILIES = ['yolox', 'yolov8', 'detr'] as const;
export const ModelFamilySchema = z.enum(MODEL_FAMILIES);
export type ModelFamily = z.infer<typeof ModelFamilySchema>;

/**
 * One version of a model as an inference process loaded it (Redis, read by the gateway): what
 * the gateway needs to take a request for it (labels, defaults) and what the API lists. Keyed by
 * name and version, so processes serving different versions never overwrite each other.
 */
export const ModelInfoSchema = z.object({
  name: z.string(),
  version: z.string(),
  /** sha256 of the model file and of model.json's settings of how it is run (ADR 0014): changes when what the version computes does. */
  digest: z.string(),
  /** Relative traffic share of this version among the model's served versions (model.json `weights`). */
  weight: z.number().min(0),
  family: ModelFamilySchema,
  input: z.object({ width: z.number().int(), height: z.number().int() }),
  dynamicBatch: z.boolean(),
  maxBatchSize: z.number().int().positive(),
  labels: z.array(z.string()),
  /** The execution provider that actually runs the model ('cpu', 'cuda', ...). */
  provider: z.string(),
  /** Providers that were asked for, in order. */
  requestedProviders: z.array(z.string()),
  defaults: z
    .object({ confidence: z.number().optional(), iou: z.number().optional(), maxDetections: z.number().optional() })
    .optional(),
  loadMs: z.number(),
  warmupMs: z.number(),
  updatedAt: z.string(),
});
export type ModelInfo = z.infer<typeof ModelInfoSchema>;

/**
 * Where a version stands in one inference process: `loading` (and warming up; takes no traffic
 * yet), `serving`, `draining` (withdrawn; its jobs in hand finish before it is released),
 * `failed` (could not be loaded: `reason`), `unloaded` (by an operator, until loaded again).
 */
export const MODEL_VERSION_STATES = ['loading', 'serving', 'draining', 'failed', 'unloaded'] as const;
export const ModelVersionStateSchema = z.enum(MODEL_VERSION_STATES);
export type ModelVersionState = z.infer<typeof ModelVersionStateSchema>;

/**
 * Where a model stands in one inference process: `serving` (some version takes traffic),
 * `loading` (none yet, one is loading), `unavailable` (none can be served: `reason`), `unloaded`
 * (by an operator).
 */
export const MODEL_STATES = ['loading', 'serving', 'unavailable', 'unloaded'] as const;
export const ModelStateSchema = z.enum(MODEL_STATES);
export type ModelState = z.infer<typeof ModelStateSchema>;

/** One version as one inference process holds it. */
export const VersionStatusSchema = z.object({
  version: z.string(),
  /** null when the file could not be read. */
  digest: z.string().nullable(),
  weight: z.number().min(0),
  state: ModelVersionStateSchema,
  /** Why it failed, is unloaded or draining; null otherwise. */
  reason: z.string().nullable(),
  /** When its session finished warming up (ISO-8601); null while not loaded. */
  loadedAt: z.string().nullable(),
  /** Jobs running on it now. */
  inFlight: z.number().int().nonnegative(),
  /** The execution provider running it; null while not loaded. */
  provider: z.string().nullable(),
});
export type VersionStatus = z.infer<typeof VersionStatusSchema>;

/** One model as one inference process holds it: published with every heartbeat. */
export const HostedModelStatusSchema = z.object({
  name: z.string(),
  /** The serving version with the most traffic ('' when none), and its provider: what gateways before versions read. */
  version: z.string(),
  provider: z.string(),
  state: ModelStateSchema,
  reason: z.string().nullable(),
  versions: z.array(VersionStatusSchema),
});
export type HostedModelStatus = z.infer<typeof HostedModelStatusSchema>;

/** What an inference process says about itself every few seconds, and at once when a model or version changes state. */
export const WorkerHeartbeatSchema = z.object({
  models: z.array(HostedModelStatusSchema),
  at: z.string(),
  expiresAt: z.number(),
});
export type WorkerHeartbeat = z.infer<typeof WorkerHeartbeatSchema>;

/** Where a version stands across the live inference processes: the best any of them reports; `offline` when none of them holds it. */
export const SERVED_VERSION_STATES = [...MODEL_VERSION_STATES, 'offline'] as const;
export type ServedVersionState = (typeof SERVED_VERSION_STATES)[number];
/** Where a model stands across the live inference processes; `offline` when none of them holds it (its jobs wait). */
export const SERVED_MODEL_STATES = [...MODEL_STATES, 'offline'] as const;
export type ServedModelState = (typeof SERVED_MODEL_STATES)[number];

/** A version as the API lists it: its state across the live processes (the best any of them reports). */
export interface VersionSummary {
  version: string;
  digest: string | null;
  weight: number;
  state: ServedVersionState;
  /** Why it is not serving (failed, unloaded, ...); null while it serves. */
  reason: string | null;
  /** Live inference processes serving this version. */
  workers: number;
}

/** A model as the API lists it: GraphQL's `models` (with labels) and, labels counted, REST's. Its description is its primary version's. */
export type ServedModel = Pick<
  ModelInfo,
  'name' | 'version' | 'family' | 'input' | 'dynamicBatch' | 'maxBatchSize' | 'provider' | 'requestedProviders' | 'labels' | 'updatedAt'
> & {
  /** Inference processes serving this model now (by heartbeat). */
  workers: number;
  state: ServedModelState;
  /** Why it is not serving; null while it serves. */
  reason: string | null;
  /** Every version the live processes hold (or, with none live, the ones last published), oldest first. */
  versions: VersionSummary[];
};

/** What `GET /v1/models` returns for each model. */
export type ModelSummary = Omit<ServedModel, 'labels'> & { classes: number };

/** A model the live processes report but none could ever load (so it has no description): broken, loading for the first time, or unloaded. */
export interface UnavailableModel {
  name: string;
  state: Exclude<ServedModelState, 'serving'>;
  reason: string | null;
  versions: VersionSummary[];
}

/** The body of `GET /v1/models`. */
export interface ModelList {
  models: ModelSummary[];
  unavailable: UnavailableModel[];
}

/** A model name as requests, queues and the admin API take it. */
export const MODEL_NAME = /^[A-Za-z0-9._-]{1,100}$/;

/** A model, optionally one version of it: `name` or `name@version`. */
export interface ModelSelector {
  name: string;
  version?: string;
}

/** Reads `name` or `name@version`; null when it is neither (a bad name or version, a second `@`). */
export function parseModelSelector(text: string): ModelSelector | null {
  const at = text.indexOf('@');
  const name = at < 0 ? text : text.slice(0, at);
  if (!MODEL_NAME.test(name)) return null;
  if (at < 0) return { name };
  const version = text.slice(at + 1);
  return VERSION_NAME.test(version) ? { name, version } : null;
}

/** `name` or `name@version`. */
export function formatModelSelector(selector: ModelSelector): string {
  return selector.version === undefined ? selector.name : `${selector.name}@${selector.version}`;
}

/** What an operator can ask of a model or version through the admin API. */
export const MODEL_ACTIONS = ['load', 'unload', 'reload'] as const;
export const ModelActionSchema = z.enum(MODEL_ACTIONS);
export type ModelAction = z.infer<typeof ModelActionSchema>;

/**
 * The operators' wishes every inference process applies (`<prefix>:model-control`): models and
 * versions unloaded (sticky until loaded again), and, per selector, how many loads (retry what
 * failed) and reloads (from disk) were asked for; a process acts on counts above those it has seen.
 */
export interface ModelControl {
  /** Selectors (`name`, `name@version`) not to serve. */
  unloaded: string[];
  loads: Record<string, number>;
  reloads: Record<string, number>;
}

/** Whether an operator unloaded this version, or its whole model. */
export function isUnloaded(control: Pick<ModelControl, 'unloaded'>, name: string, version: string): boolean {
  return control.unloaded.includes(name) || control.unloaded.includes(formatModelSelector({ name, version }));
}

/** The body of `GET /admin/models`: every process's view, and the operators' wishes they apply. */
export interface AdminModelsView {
  processes: ModelProcessView[];
  control: ModelControl;
}

/** One inference process's view, as `GET /admin/models` shows it. */
export interface ModelProcessView {
  id: string;
  /** When it last published (ISO-8601). */
  at: string;
  /** Whether its heartbeat is current (a stopped process is kept a while, for diagnosis). */
  live: boolean;
  models: HostedModelStatus[];
}

import { z } from 'zod';

/** Output conventions libs/vision decodes: YOLOX and Ultralytics heads, and DETR-family exports (RT-DETR, D-FINE, DEIM). */
export const MODEL_FAMILIES = ['yolox', 'yolov8', 'detr'] as const;
export const ModelFamilySchema = z.enum(MODEL_FAMILIES);
export type ModelFamily = z.infer<typeof ModelFamilySchema>;

/** What an inference process publishes about each model it serves (Redis, read by the gateway). */
export const ModelInfoSchema = z.object({
  name: z.string(),
  version: z.string(),
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

/** A model as the API lists it: GraphQL's `models` (with labels) and, labels counted, REST's. */
export type ServedModel = Pick<
  ModelInfo,
  'name' | 'version' | 'family' | 'input' | 'dynamicBatch' | 'maxBatchSize' | 'provider' | 'requestedProviders' | 'labels' | 'updatedAt'
> & {
  /** Inference processes serving this model now (by heartbeat). */
  workers: number;
};

/** What `GET /v1/models` returns for each model. */
export type ModelSummary = Omit<ServedModel, 'labels'> & { classes: number };

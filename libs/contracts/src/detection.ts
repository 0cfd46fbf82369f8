import { z } from 'zod';

export const BoxSchema = z.object({
  x1: z.number(),
  y1: z.number(),
  x2: z.number(),
  y2: z.number(),
});
export type Box = z.infer<typeof BoxSchema>;

export const DetectionSchema = z.object({
  label: z.string(),
  classId: z.number().int().nonnegative(),
  score: z.number(),
  box: BoxSchema,
});
export type Detection = z.infer<typeof DetectionSchema>;

/** Decoding parameters after defaults are applied; part of the cache key. */
export const DetectParamsSchema = z.object({
  confidence: z.number().min(0).max(1),
  iou: z.number().min(0).max(1),
  /** Class ids to keep; null keeps every class. Sorted, without duplicates. */
  classes: z.array(z.number().int().nonnegative()).nullable(),
  maxDetections: z.number().int().positive().max(10000),
  /** Class-agnostic NMS (one box per place whatever its label). */
  agnostic: z.boolean(),
});
export type DetectParams = z.infer<typeof DetectParamsSchema>;

export const ModelRefSchema = z.object({ name: z.string(), version: z.string() });
export type ModelRef = z.infer<typeof ModelRefSchema>;

export const ImageInfoSchema = z.object({
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  sha256: z.string(),
});
export type ImageInfo = z.infer<typeof ImageInfoSchema>;

/** Milliseconds spent in each stage; absent stages were not run (a cache hit has no inference). */
export const TimingsSchema = z.object({
  queueWait: z.number().optional(),
  fetch: z.number().optional(),
  preprocess: z.number().optional(),
  inference: z.number().optional(),
  postprocess: z.number().optional(),
  persist: z.number().optional(),
  total: z.number().optional(),
  batchSize: z.number().optional(),
});
export type Timings = z.infer<typeof TimingsSchema>;

/** What one inference produced for one piece of work (image + model version + parameters). */
export const InferenceResultSchema = z.object({
  model: ModelRefSchema,
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  detections: z.array(DetectionSchema),
  timings: TimingsSchema,
  provider: z.string(),
  finishedAt: z.string(),
});
export type InferenceResult = z.infer<typeof InferenceResultSchema>;

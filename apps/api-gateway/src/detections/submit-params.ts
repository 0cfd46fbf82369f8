import { type DetectParams, MAX_DEADLINE_MS, type ModelInfo, parseModelSelector, type Priority, PRIORITIES } from '@argus/contracts';
import { z } from 'zod';
import { ApiError } from '../errors/api-error';

/** Empty form fields count as absent (curl -F 'confidence=' sends one). */
const blankToUndefined = (value: unknown) => (typeof value === 'string' && value.trim() === '' ? undefined : value);
const optional = <T extends z.ZodType>(schema: T) => z.preprocess(blankToUndefined, schema.optional());
const threshold = z.coerce.number().min(0).max(1);

/** The options a client may send with an image (form fields, or query parameters with a raw body). */
export const SubmitFieldsSchema = z
  .object({
    /** A model name, or `name@version` to pin one version (otherwise the traffic weights pick it). */
    model: optional(
      z
        .string()
        .trim()
        .min(1)
        .max(170)
        .refine((text) => parseModelSelector(text) !== null, 'a model name (letters, digits, dot, dash and underscore), optionally @version'),
    ),
    priority: optional(z.enum(PRIORITIES)),
    confidence: optional(threshold),
    iou: optional(threshold),
    classes: optional(z.string().max(4000)),
    maxDetections: optional(z.coerce.number().int().min(1).max(1000)),
    agnostic: optional(z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')),
    wait: optional(z.coerce.number().int().min(0)),
    /** Milliseconds from now after which the job, if still waiting, fails with deadline_exceeded instead of running. */
    deadlineMs: optional(z.coerce.number().int().min(1).max(MAX_DEADLINE_MS)),
    /** Where a signed webhook goes when the detection ends (http or https; checked against the address policy). */
    callbackUrl: optional(z.string().trim().min(1).max(2000)),
  })
  .strict();
export type SubmitFields = z.infer<typeof SubmitFieldsSchema>;


/** Parses and validates the submitted options; any problem is a 400 naming the field. */
export function parseSubmitFields(...sources: Record<string, unknown>[]): SubmitFields {
  return parseFields(SubmitFieldsSchema, 'image, url', sources);
}

/** A batch takes a single detection's options, except `wait` (nothing waits for a batch). */
export const BatchFieldsSchema = SubmitFieldsSchema.omit({ wait: true });
export type BatchFields = z.infer<typeof BatchFieldsSchema>;

/** Parses and validates a batch's options (form fields); any problem is a 400 naming the field. */
export function parseBatchFields(fields: Record<string, unknown>): BatchFields {
  return parseFields(BatchFieldsSchema, 'images, url', [fields]);
}

function parseFields<T extends z.ZodObject>(schema: T, imageFields: string, sources: Record<string, unknown>[]): z.infer<T> {
  const merged: Record<string, unknown> = {};
  for (const source of sources) {
    for (const [key, value] of Object.entries(source)) {
      if (Array.isArray(value)) throw new ApiError('validation_failed', `Field "${key}" was given more than once`);
      if (value !== undefined) merged[key] = value;
    }
  }
  const parsed = schema.safeParse(merged);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      if (issue.code === 'unrecognized_keys') {
        return `unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}; accepted: ${imageFields}, ${Object.keys(schema.shape).join(', ')}`;
      }
      return `${issue.path.join('.') || 'body'}: ${issue.message}`;
    });
    throw new ApiError('validation_failed', `Invalid request: ${problems.join('; ')}`);
  }
  return parsed.data;
}

/** Turns comma-separated labels (or class ids) into sorted class ids of the model. */
export function resolveClasses(classes: string | undefined, model: ModelInfo): { ids: number[]; labels: string[] } | null {
  if (classes === undefined) return null;
  const names = classes
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (names.length === 0) return null;
  const byLabel = new Map(model.labels.map((label, id) => [label.toLowerCase(), id]));
  const ids = new Set<number>();
  const unknown: string[] = [];
  for (const name of names) {
    const id = /^\d+$/.test(name) ? Number(name) : byLabel.get(name.toLowerCase());
    if (id === undefined || id >= model.labels.length) unknown.push(name);
    else ids.add(id);
  }
  if (unknown.length > 0) {
    throw new ApiError(
      'unknown_class',
      `Model "${model.name}" has no class ${unknown.map((u) => `"${u}"`).join(', ')}; it knows: ${model.labels.slice(0, 100).join(', ')}`,
    );
  }
  const sorted = [...ids].sort((a, b) => a - b);
  return { ids: sorted, labels: sorted.map((id) => model.labels[id] ?? String(id)) };
}

/** The decoding parameters of a request: the client's, else the model's, else the service defaults. */
export function detectParams(
  fields: SubmitFields,
  model: ModelInfo,
  classes: number[] | null,
  defaults: { confidence: number; iou: number; maxDetections: number },
): DetectParams {
  return {
    confidence: fields.confidence ?? model.defaults?.confidence ?? defaults.confidence,
    iou: fields.iou ?? model.defaults?.iou ?? defaults.iou,
    classes,
    maxDetections: fields.maxDetections ?? model.defaults?.maxDetections ?? defaults.maxDetections,
    agnostic: fields.agnostic ?? false,
  };
}

/** The priority of a request (default normal). */
export function priorityOf(fields: SubmitFields): Priority {
  return fields.priority ?? 'normal';
}

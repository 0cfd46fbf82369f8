import { ARGUS_CONFIG, type ArgusConfig } from '@argus/config';
import { Inject, Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import multer, { memoryStorage } from 'multer';
import { ApiError } from '../errors/api-error';
import { toApiError } from '../errors/error.filter';
import { sendGraphqlError } from './graphql-errors';
import { UploadedFile } from './upload.scalar';

/** Size of the `operations` and `map` fields: a query and its variables, not data. */
const MAX_FIELD_BYTES = 64 * 1024;

/**
 * Puts `value` at a dotted path (`variables.image`, `0.variables.files.1`) inside `target`,
 * refusing paths that do not lead to an existing slot holding null (the spec's placeholder).
 */
export function placeAt(target: unknown, path: string, value: unknown): void {
  const keys = path.split('.');
  const last = keys.pop();
  let node: unknown = target;
  for (const key of keys) {
    if (node === null || typeof node !== 'object' || !Object.prototype.hasOwnProperty.call(node, key)) {
      throw new ApiError('validation_failed', `map: path "${path}" is not in operations`);
    }
    node = (node as Record<string, unknown>)[key];
  }
  if (last === undefined || node === null || typeof node !== 'object' || !Object.prototype.hasOwnProperty.call(node, last)) {
    throw new ApiError('validation_failed', `map: path "${path}" is not in operations`);
  }
  if ((node as Record<string, unknown>)[last] !== null) {
    throw new ApiError('validation_failed', `map: "${path}" must be null in operations (the file's placeholder)`);
  }
  (node as Record<string, unknown>)[last] = value;
}

/**
 * Turns the multipart fields (`operations`, `map`) and files of a GraphQL multipart request into
 * the operations object with each file placed where `map` says.
 */
export function assembleOperations(fields: Record<string, unknown>, files: readonly Express.Multer.File[]): unknown {
  const operationsText = fields['operations'];
  const mapText = fields['map'];
  if (typeof operationsText !== 'string') throw new ApiError('validation_failed', 'Multipart GraphQL request without an "operations" field (GraphQL multipart request spec)');
  if (typeof mapText !== 'string') throw new ApiError('validation_failed', 'Multipart GraphQL request without a "map" field (GraphQL multipart request spec)');
  let operations: unknown;
  let map: unknown;
  try {
    operations = JSON.parse(operationsText);
    map = JSON.parse(mapText);
  } catch {
    throw new ApiError('validation_failed', 'The "operations" and "map" fields must be JSON');
  }
  if (map === null || typeof map !== 'object' || Array.isArray(map)) throw new ApiError('validation_failed', '"map" must be an object of file field name -> paths');
  const byField = new Map(files.map((f) => [f.fieldname, f]));
  for (const [field, paths] of Object.entries(map as Record<string, unknown>)) {
    const file = byField.get(field);
    if (!file) throw new ApiError('missing_image', `map names the file "${field}" but no such part was sent`);
    if (!Array.isArray(paths) || paths.length === 0 || !paths.every((p) => typeof p === 'string')) {
      throw new ApiError('validation_failed', `map["${field}"] must be a non-empty array of paths`);
    }
    const upload = new UploadedFile(file.buffer, file.originalname, file.mimetype);
    for (const path of paths as string[]) placeAt(operations, path, upload);
    byField.delete(field);
  }
  if (byField.size > 0) throw new ApiError('validation_failed', `File part(s) ${[...byField.keys()].map((k) => `"${k}"`).join(', ')} not named in map`);
  return operations;
}

/**
 * The GraphQL multipart request spec for POST /graphql: one file (a detection's image) up to
 * MAX_IMAGE_BYTES, in memory, handed to Apollo as the operations with an `Upload` in its variable.
 * Errors answer in GraphQL's shape with the REST code. Other content types pass through.
 */
@Injectable()
export class GraphqlMultipartMiddleware implements NestMiddleware {
  private readonly parse: ReturnType<ReturnType<typeof multer>['any']>;

  constructor(@Inject(ARGUS_CONFIG) config: ArgusConfig) {
    this.parse = multer({
      storage: memoryStorage(),
      limits: { fileSize: config.limits.maxImageBytes, files: 1, fields: 2, fieldSize: MAX_FIELD_BYTES, parts: 3 },
    }).any();
  }

  use(req: Request, res: Response, next: NextFunction): void {
    if (req.method !== 'POST' || req.is('multipart/form-data') !== 'multipart/form-data') {
      next();
      return;
    }
    this.parse(req, res, (error?: unknown) => {
      try {
        if (error) throw error;
        const files = Array.isArray(req.files) ? req.files : [];
        req.body = assembleOperations((req.body ?? {}) as Record<string, unknown>, files);
        next();
      } catch (caught) {
        sendGraphqlError(res, multerLimit(caught) ?? toApiError(caught));
      }
    });
  }
}

function multerLimit(error: unknown): ApiError | null {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'LIMIT_FILE_COUNT') return new ApiError('validation_failed', 'One file per request: a detection takes one image');
  if (code === 'LIMIT_FIELD_VALUE') return new ApiError('validation_failed', `The "operations" or "map" field is larger than ${MAX_FIELD_BYTES} bytes`);
  return null;
}

import { ARGUS_CONFIG, type ArgusConfig } from '@argus/config';
import { Inject, Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { type DocumentNode, parse } from 'graphql';
import { ApiError } from '../errors/api-error';
import { sendGraphqlError } from './graphql-errors';

/**
 * Pure: the refusal of a GraphQL document over `maxBytes` (GRAPHQL_MAX_DOCUMENT_BYTES), or null.
 * Measured before anything parses it, so a document of megabytes costs a length check.
 */
export function documentSizeError(query: unknown, maxBytes: number): ApiError | null {
  if (typeof query !== 'string') return null;
  // UTF-8 takes at least one byte per UTF-16 unit: a long string is too large without counting.
  const bytes = query.length > maxBytes ? query.length : Buffer.byteLength(query, 'utf8');
  if (bytes <= maxBytes) return null;
  return new ApiError(
    'payload_too_large',
    `The GraphQL document is ${query.length > maxBytes ? 'over' : ''}${bytes} bytes; at most ${maxBytes} (GRAPHQL_MAX_DOCUMENT_BYTES). Send data such as images in variables, not in the query text`,
  );
}

/** Parses a document, giving up after `maxTokens` tokens (GRAPHQL_MAX_TOKENS) whatever its length. */
export function parseDocument(query: string, maxTokens: number): DocumentNode {
  return parse(query, { maxTokens });
}

/**
 * The document size limit on /graphql over HTTP, for every way a document arrives: a JSON body, a
 * multipart request's `operations` (this runs after GraphqlMultipartMiddleware), a GET query
 * string. 413 payload_too_large in GraphQL's shape, before Apollo parses anything.
 */
@Injectable()
export class GraphqlDocumentLimitMiddleware implements NestMiddleware {
  private readonly maxBytes: number;

  constructor(@Inject(ARGUS_CONFIG) config: ArgusConfig) {
    this.maxBytes = config.graphql.maxDocumentBytes;
  }

  use(req: Request, res: Response, next: NextFunction): void {
    const body: unknown = req.body;
    const operations = [...(Array.isArray(body) ? body : [body]), req.query] as { query?: unknown }[];
    for (const operation of operations) {
      const error = documentSizeError(operation?.query, this.maxBytes);
      if (error) return sendGraphqlError(res, error, { limit: 'document_bytes', maxBytes: this.maxBytes });
    }
    next();
  }
}

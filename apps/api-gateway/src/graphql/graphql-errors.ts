import type { ErrorCode } from '@argus/contracts';
import { Logger } from '@nestjs/common';
import type { Response } from 'express';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { ApiError, ERROR_STATUS } from '../errors/api-error';
import { toApiError } from '../errors/error.filter';

/** Apollo's and graphql-js's request-level codes: all of them are the client's to fix. */
const CLIENT_CODES = new Set(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT', 'BAD_REQUEST', 'OPERATION_RESOLUTION_FAILURE', 'PERSISTED_QUERY_NOT_FOUND', 'PERSISTED_QUERY_NOT_SUPPORTED']);

/**
 * Gives every GraphQL error the REST error code in `extensions.code` (and its HTTP status in
 * `extensions.status`): resolvers throw the same ApiErrors as controllers. Request-level errors
 * (syntax, validation, depth and cost limits, bad variables) are validation_failed, with
 * graphql-js's own code kept in `extensions.graphqlCode`. Anything unexpected is internal_error
 * and its message stays in the log.
 */
export function formatGraphqlError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const original = unwrap(error);
  const graphqlCode = typeof formatted.extensions?.['code'] === 'string' ? formatted.extensions['code'] : undefined;
  const { stacktrace: _drop, ...extensions } = formatted.extensions ?? {};
  let code: ErrorCode;
  let message = formatted.message;
  if (graphqlCode && CLIENT_CODES.has(graphqlCode)) {
    code = 'validation_failed';
  } else {
    const apiError = original instanceof ApiError ? original : toApiError(original);
    code = apiError.code;
    message = apiError.code === 'internal_error' && !(original instanceof ApiError) ? 'Internal error; see the gateway log' : apiError.message;
  }
  return {
    ...formatted,
    message,
    extensions: { ...extensions, code, status: ERROR_STATUS[code], ...(graphqlCode && graphqlCode !== code ? { graphqlCode } : {}) },
  };
}

/** The error a resolver threw, out of the GraphQLError(s) wrapped around it. */
function unwrap(error: unknown): unknown {
  let current = error;
  while (current instanceof GraphQLError && current.originalError) current = current.originalError;
  return current;
}

/** Answers an HTTP request to /graphql that never reached Apollo with an error in GraphQL's shape and the REST code. */
export function sendGraphqlError(res: Response, error: ApiError, extensions: Record<string, unknown> = {}): void {
  if (res.headersSent) return;
  for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
  res.status(error.status).json({ errors: [{ message: error.message, extensions: { code: error.code, status: error.status, ...extensions } }] });
}

const logger = new Logger('GraphQL');

/** {@link formatGraphqlError}, logging what became internal_error (its details are not sent). */
export function formatWithLog(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const out = formatGraphqlError(formatted, error);
  if (out.extensions?.['code'] === 'internal_error') {
    logger.error({ msg: 'GraphQL operation failed', path: formatted.path, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  }
  return out;
}

/** A GraphQL error with the REST code in its extensions, for graphql-ws (it sends errors itself, apart from Apollo). */
export function withRestCode(error: GraphQLError): GraphQLError {
  // Already in our shape (a refusal made with the REST code): as it is.
  const code = error.extensions['code'];
  if (typeof code === 'string' && code in ERROR_STATUS && error.extensions['status'] === ERROR_STATUS[code as ErrorCode]) return error;
  return new GraphQLError(error.message, { nodes: error.nodes, path: error.path, originalError: error.originalError, extensions: formatWithLog(error.toJSON(), error).extensions });
}

import type { ErrorCode } from '@argus/contracts';
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

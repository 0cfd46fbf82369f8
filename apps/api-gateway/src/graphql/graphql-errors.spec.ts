import { ImageError } from '@argus/imaging';
import { GraphQLError } from 'graphql';
import { ApiError } from '../errors/api-error';
import { formatGraphqlError, withRestCode } from './graphql-errors';

function format(error: GraphQLError) {
  return formatGraphqlError(error.toJSON(), error);
}

describe(formatGraphqlError.name, () => {
  it('gives a resolver\'s ApiError its REST code and status', () => {
    const error = new GraphQLError('No detection', { path: ['detection'], originalError: new ApiError('not_found', 'No detection with id "x"') });
    expect(format(error)).toMatchObject({ message: 'No detection with id "x"', path: ['detection'], extensions: { code: 'not_found', status: 404 } });
  });

  it('maps image errors like REST does', () => {
    const original = new ImageError('not_an_image', 'Not an image');
    expect(format(new GraphQLError('x', { originalError: original })).extensions).toMatchObject({ code: 'not_an_image', status: 415 });
  });

  it('calls request-level errors validation_failed and keeps graphql-js\'s code', () => {
    const error = new GraphQLError('Syntax Error', { extensions: { code: 'GRAPHQL_PARSE_FAILED' } });
    expect(format(error).extensions).toEqual({ code: 'validation_failed', status: 400, graphqlCode: 'GRAPHQL_PARSE_FAILED' });
  });

  it('hides the message of an unexpected error', () => {
    const error = new GraphQLError('secret detail', { originalError: new TypeError('Cannot read properties of undefined (secret detail)') });
    expect(format(error)).toMatchObject({ message: 'Internal error; see the gateway log', extensions: { code: 'internal_error', status: 500 } });
  });
});

describe(withRestCode.name, () => {
  it('formats graphql-js errors for graphql-ws, and leaves a refusal already in the REST shape as it is', () => {
    expect(withRestCode(new GraphQLError('Syntax Error', { extensions: { code: 'GRAPHQL_PARSE_FAILED' } })).extensions).toEqual({ code: 'validation_failed', status: 400, graphqlCode: 'GRAPHQL_PARSE_FAILED' });
    const refusal = new GraphQLError('Only subscriptions over WebSocket', { extensions: { code: 'validation_failed', status: 400, limit: 'subscriptions_only' } });
    expect(withRestCode(refusal)).toBe(refusal);
    // a resolver's own `code` that is not ours with its status is still mapped
    expect(withRestCode(new GraphQLError('x', { extensions: { code: 'validation_failed' } })).extensions['status']).not.toBeUndefined();
  });
});

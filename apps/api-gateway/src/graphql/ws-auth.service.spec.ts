import { isGraphqlUpgrade } from './ws-server';
import { wsApiKey } from './ws-auth.service';

describe(wsApiKey.name, () => {
  const ctx = (connectionParams: Record<string, unknown> | undefined, headers: Record<string, string> = {}) => ({ connectionParams, extra: { request: { headers } } });

  it('reads the key from connectionParams first, then from the upgrade request headers', () => {
    expect(wsApiKey(ctx({ 'x-api-key': 'k1' }, { 'x-api-key': 'k2' }))).toBe('k1');
    expect(wsApiKey(ctx({ apiKey: 'k3' }))).toBe('k3');
    expect(wsApiKey(ctx({ authorization: 'Bearer k4' }))).toBe('k4');
    expect(wsApiKey(ctx({}, { authorization: 'bearer k5' }))).toBe('k5');
    expect(wsApiKey(ctx(undefined, { 'x-api-key': 'k6' }))).toBe('k6');
    expect(wsApiKey(ctx({ 'x-api-key': 7 }))).toBeUndefined();
    expect(wsApiKey(ctx({ authorization: 'Basic abc' }))).toBeUndefined();
  });
});

describe(isGraphqlUpgrade.name, () => {
  it('takes the GraphQL path with any query string, case or trailing slash, and nothing else', () => {
    for (const url of ['/graphql', '/GraphQL', '/graphql/', '/graphql?x=1']) expect([url, isGraphqlUpgrade(url, '/graphql')]).toEqual([url, true]);
    for (const url of [undefined, '/', '/graphqlx', '/v1/graphql', '/graphql/sub']) expect([url, isGraphqlUpgrade(url, '/graphql')]).toEqual([url, false]);
  });
});

import type { Request } from 'express';
import { presentedKey } from './auth.middleware';
import { isOperationalPath, isProtectedPath } from './protected-paths';

describe(isProtectedPath.name, () => {
  it('covers /v1 and /graphql whatever the case, and nothing else', () => {
    for (const path of ['/v1', '/v1/', '/v1/detections', '/V1/Models', '/graphql', '/GraphQL', '/graphql/x']) expect({ path, p: isProtectedPath(path) }).toEqual({ path, p: true });
    for (const path of ['/', '/health/ready', '/metrics', '/docs', '/docs-json', '/web/app.js', '/admin/queues', '/v10', '/v1x', '/graphqlx']) {
      expect({ path, p: isProtectedPath(path) }).toEqual({ path, p: false });
    }
  });

  it('keeps probes and scrapes answered while draining', () => {
    expect(isOperationalPath('/health/ready')).toBe(true);
    expect(isOperationalPath('/metrics')).toBe(true);
    expect(isOperationalPath('/v1/models')).toBe(false);
  });
});

describe(presentedKey.name, () => {
  const req = (headers: Record<string, string | string[]>) => ({ headers }) as unknown as Request;

  it('takes x-api-key first, then a Bearer token, and nothing else', () => {
    expect(presentedKey(req({ 'x-api-key': ' k1 ', authorization: 'Bearer k2' }))).toBe('k1');
    expect(presentedKey(req({ authorization: 'bearer k2' }))).toBe('k2');
    expect(presentedKey(req({ authorization: 'Basic dXNlcjpwYXNz' }))).toBeUndefined();
    expect(presentedKey(req({ authorization: 'Bearer' }))).toBeUndefined();
    expect(presentedKey(req({ 'x-api-key': '' }))).toBeUndefined();
    expect(presentedKey(req({ 'x-api-key': ['a', 'b'] }))).toBe('a');
  });
});

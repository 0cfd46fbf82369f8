import type { NextFunction, Request, Response } from 'express';
import { basicAuth, parseBasicAuth, safeEqual } from './basic-auth';

const header = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

function run(authorization: string | undefined) {
  const req = { header: (name: string) => (name.toLowerCase() === 'authorization' ? authorization : undefined) } as Request;
  const res = {
    headers: {} as Record<string, string>,
    statusCode: 200,
    body: undefined as unknown,
    setHeader(name: string, value: string) {
      this.headers[name.toLowerCase()] = value;
    },
    status(code: number) {
      this.statusCode = code;
      return this;
    },
    json(body: unknown) {
      this.body = body;
    },
  };
  const next = jest.fn() as NextFunction;
  basicAuth({ user: 'admin', password: 'p:ss wörd' }, 'Argus queues')(req, res as unknown as Response, next);
  return { res, next };
}

describe('admin basic auth', () => {
  it('lets the admin in', () => {
    const { next, res } = run(header('admin', 'p:ss wörd'));
    expect(next).toHaveBeenCalled();
    expect(res.statusCode).toBe(200);
  });

  it('answers 401 with a Basic challenge and the JSON error shape otherwise', () => {
    for (const attempt of [undefined, header('admin', 'wrong'), header('root', 'p:ss wörd'), 'Bearer abc', 'Basic !!!']) {
      const { next, res } = run(attempt);
      expect(next).not.toHaveBeenCalled();
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Basic realm="Argus queues", charset="UTF-8"');
      expect(res.body).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
    }
  });

  it('splits user and password at the first colon and reads UTF-8', () => {
    expect(parseBasicAuth(header('a', 'b:c'))).toEqual({ user: 'a', password: 'b:c' });
    expect(parseBasicAuth(header('ü', 'x'))).toEqual({ user: 'ü', password: 'x' });
    expect(parseBasicAuth(`Basic ${Buffer.from('nocolon').toString('base64')}`)).toBeNull();
  });

  it('compares strings of different lengths without throwing', () => {
    expect(safeEqual('a', 'a')).toBe(true);
    expect(safeEqual('a', 'ab')).toBe(false);
  });
});

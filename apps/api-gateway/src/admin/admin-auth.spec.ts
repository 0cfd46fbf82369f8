import type { NextFunction, Request, Response } from 'express';
import { adminAuth } from './admin-auth';

function run(config: { admin: { user: string; password: string } | null }, authorization?: string) {
  const req = { header: (name: string) => (name.toLowerCase() === 'authorization' ? authorization : undefined) } as Request;
  const res = {
    headers: {} as Record<string, string>,
    locals: {} as Record<string, unknown>,
    headersSent: false,
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
  adminAuth(config, 'Argus admin')(req, res as unknown as Response, next);
  return { res, next };
}

describe(adminAuth.name, () => {
  const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

  it('is off (404, never open) while no admin credentials are configured', () => {
    const { res, next } = run({ admin: null }, basic('admin', 'anything'));
    expect(next).not.toHaveBeenCalled();
    expect([res.statusCode, res.body]).toEqual([404, { error: { code: 'not_found', message: expect.stringContaining('ADMIN_USER and ADMIN_PASSWORD') } }]);
  });

  it('asks for the admin\'s basic auth, and lets the admin in', () => {
    const admin = { user: 'ops', password: 'a-long-password' };
    const refused = run({ admin }, basic('ops', 'wrong'));
    expect([refused.res.statusCode, refused.res.headers['www-authenticate']]).toEqual([401, 'Basic realm="Argus admin", charset="UTF-8"']);
    expect(refused.next).not.toHaveBeenCalled();
    expect(run({ admin }, basic('ops', 'a-long-password')).next).toHaveBeenCalled();
  });
});

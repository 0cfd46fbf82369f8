import type { Request, Response } from 'express';
import { adminAuth } from './admin-auth';

/** What the middleware answered: a status and body, or that it let the request through. */
function answer(admin: { user: string; password: string } | null, authorization?: string): { status: number; body?: unknown; challenge?: string } | 'through' {
  let status = 200;
  let body: unknown;
  const headers = new Map<string, string>();
  const res = {
    locals: {},
    headersSent: false,
    setHeader: (name: string, value: string) => headers.set(name.toLowerCase(), value),
    status: (code: number) => ((status = code), res),
    json: (value: unknown) => (body = value),
  };
  let through = false;
  const req = { header: (name: string) => (name.toLowerCase() === 'authorization' ? authorization : undefined) } as Request;
  adminAuth({ admin }, 'Argus admin')(req, res as unknown as Response, () => (through = true));
  return through ? 'through' : { status, body, ...(headers.has('www-authenticate') ? { challenge: headers.get('www-authenticate') } : {}) };
}

describe(adminAuth.name, () => {
  const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const admin = { user: 'ops', password: 'a-long-password' };

  it('is off (404, never open) while no admin credentials are configured', () => {
    expect(answer(null, basic('admin', 'anything'))).toEqual({ status: 404, body: { error: { code: 'not_found', message: expect.stringContaining('ADMIN_USER and ADMIN_PASSWORD') } } });
  });

  it("asks for the admin's basic auth, and lets the admin in", () => {
    expect(answer(admin, basic('ops', 'wrong'))).toMatchObject({ status: 401, challenge: 'Basic realm="Argus admin", charset="UTF-8"' });
    expect(answer(admin)).toMatchObject({ status: 401 });
    expect(answer(admin, basic('ops', 'a-long-password'))).toBe('through');
  });
});

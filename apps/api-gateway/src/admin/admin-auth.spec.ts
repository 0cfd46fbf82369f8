import type { Request, Response } from 'express';
import { adminAuth } from './admin-auth';
import type { LoginLimiter } from './login-limiter';

/** No failed sign-ins on record: what the limiter does is basic-auth.spec.ts's subject. */
const limiter: LoginLimiter = {
  standing: () => Promise.resolve({ failures: 0, retryAfterMs: 0 }),
  failed: () => Promise.resolve(),
  succeeded: () => Promise.resolve(),
};

/** What the middleware answered: a status and body, or that it let the request through. */
async function answer(admin: { user: string; password: string } | null, authorization?: string): Promise<{ status: number; body?: unknown; challenge?: string } | 'through'> {
  let status = 200;
  let body: unknown;
  const headers = new Map<string, string>();
  let settle: () => void = () => undefined;
  const settled = new Promise<void>((resolve) => (settle = resolve));
  const res = {
    locals: {},
    headersSent: false,
    setHeader: (name: string, value: string) => headers.set(name.toLowerCase(), value),
    status: (code: number) => ((status = code), res),
    json: (value: unknown) => ((body = value), settle()),
  };
  let through = false;
  const req = { ip: '203.0.113.5', socket: {}, header: (name: string) => (name.toLowerCase() === 'authorization' ? authorization : undefined) } as unknown as Request;
  adminAuth({ admin }, 'Argus admin', limiter)(req, res as unknown as Response, () => ((through = true), settle()));
  await settled;
  return through ? 'through' : { status, body, ...(headers.has('www-authenticate') ? { challenge: headers.get('www-authenticate') } : {}) };
}

describe(adminAuth.name, () => {
  const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const admin = { user: 'ops', password: 'a-long-password' };

  it('is off (404, never open) while no admin credentials are configured', async () => {
    expect(await answer(null, basic('admin', 'anything'))).toEqual({ status: 404, body: { error: { code: 'not_found', message: expect.stringContaining('ADMIN_USER and ADMIN_PASSWORD') } } });
  });

  it("asks for the admin's basic auth, and lets the admin in", async () => {
    expect(await answer(admin, basic('ops', 'wrong'))).toMatchObject({ status: 401, challenge: 'Basic realm="Argus admin", charset="UTF-8"' });
    expect(await answer(admin)).toMatchObject({ status: 401 });
    expect(await answer(admin, basic('ops', 'a-long-password'))).toBe('through');
  });
});

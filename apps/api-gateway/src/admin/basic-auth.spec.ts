import type { NextFunction, Request, Response } from 'express';
import { basicAuth, parseBasicAuth, safeEqual } from './basic-auth';
import type { LoginLimiter, LoginStanding } from './login-limiter';

const header = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** The failure count as Redis would keep it, in memory: the test is about what the middleware does with it. */
class FakeLimiter implements LoginLimiter {
  counts = new Map<string, number>();
  calls: string[] = [];
  down = false;
  constructor(private readonly max = 3) {}
  async standing(client: string): Promise<LoginStanding> {
    this.calls.push(`standing ${client}`);
    if (this.down) throw new Error('Connection is closed.');
    const failures = this.counts.get(client) ?? 0;
    return { failures, retryAfterMs: failures >= this.max ? 61_500 : 0 };
  }
  async failed(client: string): Promise<void> {
    this.calls.push(`failed ${client}`);
    this.counts.set(client, (this.counts.get(client) ?? 0) + 1);
  }
  async succeeded(client: string): Promise<void> {
    this.calls.push(`succeeded ${client}`);
    this.counts.delete(client);
  }
}

async function run(limiter: LoginLimiter, authorization: string | undefined, ip = '203.0.113.7') {
  const req = { ip, socket: {}, header: (name: string) => (name.toLowerCase() === 'authorization' ? authorization : undefined) } as unknown as Request;
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
  let resolve: () => void = () => undefined;
  const settled = new Promise<void>((r) => (resolve = r));
  const next = jest.fn(() => resolve()) as NextFunction;
  const json = res.json.bind(res);
  res.json = (body: unknown) => {
    json(body);
    resolve();
  };
  basicAuth({ user: 'admin', password: 'p:ss wörd-long' }, 'Argus queues', limiter)(req, res as unknown as Response, next);
  await settled;
  return { res, next };
}

describe('admin basic auth', () => {
  it('lets the admin in', async () => {
    const { next, res } = await run(new FakeLimiter(), header('admin', 'p:ss wörd-long'));
    expect(next).toHaveBeenCalled();
    expect(res.statusCode).toBe(200);
  });

  it('answers 401 with a Basic challenge and the JSON error shape otherwise', async () => {
    for (const attempt of [undefined, header('admin', 'wrong'), header('root', 'p:ss wörd-long'), 'Bearer abc', 'Basic !!!']) {
      const { next, res } = await run(new FakeLimiter(), attempt);
      expect(next).not.toHaveBeenCalled();
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Basic realm="Argus queues", charset="UTF-8"');
      expect(res.body).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
    }
  });

  it('after too many failures answers 429 with Retry-After, and does not compare even the right password', async () => {
    const limiter = new FakeLimiter(3);
    for (let i = 0; i < 3; i++) expect((await run(limiter, header('admin', `guess-${i}`))).res.statusCode).toBe(401);
    const locked = await run(limiter, header('admin', 'p:ss wörd-long'));
    expect(locked.next).not.toHaveBeenCalled();
    expect([locked.res.statusCode, locked.res.headers['retry-after']]).toEqual([429, '62']);
    expect(locked.res.body).toEqual({ error: { code: 'rate_limited', message: expect.stringContaining('retry after 62 s') } });
    // another address is not affected
    expect((await run(limiter, header('admin', 'p:ss wörd-long'), '198.51.100.1')).next).toHaveBeenCalled();
  });

  it('counts only attempts that carry credentials, and a success clears the count', async () => {
    const limiter = new FakeLimiter(3);
    await run(limiter, undefined);
    expect(limiter.counts.size).toBe(0);
    await run(limiter, header('admin', 'typo'));
    expect(limiter.counts.get('203.0.113.7')).toBe(1);
    await run(limiter, header('admin', 'p:ss wörd-long'));
    expect(limiter.counts.size).toBe(0);
    // with no failures on record, a success writes nothing (one read per board request)
    limiter.calls = [];
    await run(limiter, header('admin', 'p:ss wörd-long'));
    expect(limiter.calls).toEqual(['standing 203.0.113.7']);
  });

  it('lets nobody in when the count cannot be read (503), rather than allowing unlimited guesses', async () => {
    const limiter = new FakeLimiter();
    limiter.down = true;
    const { next, res } = await run(limiter, header('admin', 'p:ss wörd-long'));
    expect(next).not.toHaveBeenCalled();
    expect([res.statusCode, res.headers['retry-after']]).toEqual([503, '2']);
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

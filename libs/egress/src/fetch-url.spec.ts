import { localHttpServer, type LocalHttpServer } from '@argus/testing';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AddressPolicy } from './address-policy';
import { checkUrl, EgressError, fetchUrl, parseHttpUrl, type Resolver } from './fetch-url';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A server on 127.0.0.1 answering each path with its handler, noting the paths asked for. */
async function serve(routes: Record<string, Handler>): Promise<LocalHttpServer & { hits: string[] }> {
  const hits: string[] = [];
  const server = await localHttpServer((req, res) => {
    hits.push(req.url ?? '');
    const handler = routes[req.url ?? ''];
    if (handler) handler(req, res);
    else res.writeHead(404).end('no');
  });
  return { ...server, hits };
}

async function failure(work: Promise<unknown>): Promise<EgressError> {
  try {
    await work;
  } catch (error) {
    if (error instanceof EgressError) return error;
    throw error;
  }
  throw new Error('expected an EgressError');
}

/** DNS for tests: names of our choosing to addresses of our choosing. */
const fakeDns =
  (table: Record<string, string>): Resolver =>
  async (host) => {
    const address = table[host];
    if (!address) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    return [{ address, family: address.includes(':') ? 6 : 4 }];
  };

describe(fetchUrl.name, () => {
  const local = new AddressPolicy(['127.0.0.1']);
  const base = { policy: local, timeoutMs: 2000, maxBytes: 1000 };

  it('fetches from an allowed address and returns the body', async () => {
    const server = await serve({ '/a.jpg': (_req, res) => res.writeHead(200, { 'content-type': 'image/jpeg' }).end('jpeg-bytes') });
    try {
      const got = await fetchUrl(new URL(`${server.base}/a.jpg`), base);
      expect({ status: got.status, body: got.body.toString() }).toEqual({ status: 200, body: 'jpeg-bytes' });
    } finally {
      await server.close();
    }
  });

  it('refuses loopback without an allow entry, before connecting', async () => {
    const server = await serve({ '/a.jpg': (_req, res) => res.end('x') });
    try {
      const error = await failure(fetchUrl(new URL(`${server.base}/a.jpg`), { ...base, policy: new AddressPolicy() }));
      expect(error.reason).toBe('not_allowed');
      expect(error.message).toMatch(/loopback.*URL_FETCH_ALLOW/);
      expect(server.hits).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('connects to the address it checked, whatever the name resolves to afterwards', async () => {
    const server = await serve({ '/a.jpg': (_req, res) => res.end('pinned') });
    let calls = 0;
    // First answer allowed; any later answer would be a private one (DNS rebinding).
    const rebinding: Resolver = async () => [{ address: calls++ === 0 ? '127.0.0.1' : '10.9.9.9', family: 4 }];
    try {
      const got = await fetchUrl(new URL(`http://images.test:${server.port}/a.jpg`), { ...base, resolve: rebinding });
      expect(got.body.toString()).toBe('pinned');
      expect(calls).toBe(1);
    } finally {
      await server.close();
    }
  });

  it('refuses a name that resolves to a private address, and one that does not resolve', async () => {
    const dns = fakeDns({ 'internal.test': '10.0.0.8' });
    expect((await failure(fetchUrl(new URL('http://internal.test/x'), { ...base, resolve: dns }))).reason).toBe('not_allowed');
    expect((await failure(fetchUrl(new URL('http://nowhere.test/x'), { ...base, resolve: dns }))).reason).toBe('dns');
  });

  it('checks every redirect: a redirect to a private or metadata address is refused without being followed', async () => {
    const server = await serve({
      '/to-metadata': (_req, res) => res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end(),
      '/to-ipv6-loopback': (_req, res) => res.writeHead(301, { location: 'http://[::1]:9/x' }).end(),
      '/to-mapped': (_req, res) => res.writeHead(307, { location: 'http://[::ffff:10.0.0.1]/x' }).end(),
    });
    try {
      for (const path of ['/to-metadata', '/to-ipv6-loopback', '/to-mapped']) {
        const error = await failure(fetchUrl(new URL(`${server.base}${path}`), base));
        expect({ path, reason: error.reason }).toEqual({ path, reason: 'not_allowed' });
      }
    } finally {
      await server.close();
    }
  });

  it('follows up to 3 redirects, relative ones included, and fails on the 4th', async () => {
    const server = await serve({
      '/r1': (_req, res) => res.writeHead(302, { location: '/r2' }).end(),
      '/r2': (_req, res) => res.writeHead(302, { location: '/r3' }).end(),
      '/r3': (_req, res) => res.writeHead(302, { location: '/end' }).end(),
      '/end': (_req, res) => res.end('done'),
      '/r0': (_req, res) => res.writeHead(302, { location: '/r1' }).end(),
    });
    try {
      expect((await fetchUrl(new URL(`${server.base}/r1`), base)).body.toString()).toBe('done');
      expect((await failure(fetchUrl(new URL(`${server.base}/r0`), base))).reason).toBe('too_many_redirects');
    } finally {
      await server.close();
    }
  });

  it('fails on an error status with the status, on a body over the limit (declared or streamed), and on a redirect to another scheme', async () => {
    const server = await serve({
      '/missing': (_req, res) => res.writeHead(404).end(),
      '/declared': (_req, res) => res.writeHead(200, { 'content-length': '5000' }).end(Buffer.alloc(5000)),
      '/streamed': (_req, res) => {
        res.writeHead(200);
        for (let i = 0; i < 5; i++) res.write(Buffer.alloc(400));
        res.end();
      },
      '/to-file': (_req, res) => res.writeHead(302, { location: 'file:///etc/passwd' }).end(),
    });
    try {
      const missing = await failure(fetchUrl(new URL(`${server.base}/missing`), base));
      expect({ reason: missing.reason, status: missing.status }).toEqual({ reason: 'http_status', status: 404 });
      expect((await failure(fetchUrl(new URL(`${server.base}/declared`), base))).reason).toBe('too_large');
      expect((await failure(fetchUrl(new URL(`${server.base}/streamed`), base))).reason).toBe('too_large');
      expect((await failure(fetchUrl(new URL(`${server.base}/to-file`), base))).reason).toBe('invalid_url');
    } finally {
      await server.close();
    }
  });

  it('gives up after the timeout when the server sends nothing, or too slowly', async () => {
    const server = await serve({
      '/silent': () => undefined,
      '/slow': (_req, res) => {
        res.writeHead(200);
        const timer = setInterval(() => res.write('x'), 50);
        res.on('close', () => clearInterval(timer));
      },
    });
    try {
      for (const path of ['/silent', '/slow']) {
        const error = await failure(fetchUrl(new URL(`${server.base}${path}`), { ...base, timeoutMs: 300 }));
        expect({ path, reason: error.reason }).toEqual({ path, reason: 'timeout' });
      }
    } finally {
      await server.close();
    }
  });

  it('posts a body without following redirects, and returns any status when asked', async () => {
    let received = '';
    const server = await serve({
      '/hook': (req, res) => {
        req.setEncoding('utf8');
        req.on('data', (c: string) => (received += c));
        req.on('end', () => res.writeHead(500).end('later'));
      },
      '/moved': (_req, res) => res.writeHead(308, { location: '/hook' }).end(),
    });
    try {
      const answered = await fetchUrl(new URL(`${server.base}/hook`), { ...base, method: 'POST', body: '{"a":1}', okOnly: false });
      expect({ status: answered.status, received }).toEqual({ status: 500, received: '{"a":1}' });
      expect((await fetchUrl(new URL(`${server.base}/moved`), { ...base, method: 'POST', body: '{}', okOnly: false })).status).toBe(308);
    } finally {
      await server.close();
    }
  });
});

describe(parseHttpUrl.name, () => {
  it('takes http and https URLs only, without credentials', () => {
    expect(parseHttpUrl(' https://example.com/a.jpg ').toString()).toBe('https://example.com/a.jpg');
    expect(() => parseHttpUrl('ftp://example.com/a')).toThrow(/http or https, not ftp/);
    expect(() => parseHttpUrl('file:///etc/passwd')).toThrow(/http or https/);
    expect(() => parseHttpUrl('not a url')).toThrow(/not a URL/);
    expect(() => parseHttpUrl('http://user:pw@example.com/')).toThrow(/user name or password/);
  });

  it('normalises numeric hosts the way connections read them, so checks see the real address', async () => {
    expect(parseHttpUrl('http://2130706433/').hostname).toBe('127.0.0.1');
    expect(parseHttpUrl('http://0x7f.1/').hostname).toBe('127.0.0.1');
    expect((await failure(checkUrl(parseHttpUrl('http://2130706433/'), new AddressPolicy()))).reason).toBe('not_allowed');
  });
});

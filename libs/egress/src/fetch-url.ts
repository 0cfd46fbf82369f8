import { lookup as dnsLookup } from 'node:dns/promises';
import { type IncomingHttpHeaders, type IncomingMessage, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { AddressPolicy } from './address-policy';

/** Why a fetch failed; each maps to one sentence for the client. */
export type EgressFailure = 'invalid_url' | 'not_allowed' | 'dns' | 'timeout' | 'http_status' | 'too_large' | 'too_many_redirects' | 'network';

/** A failed outbound request, with why (and the HTTP status when the server answered one). */
export class EgressError extends Error {
  constructor(
    readonly reason: EgressFailure,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'EgressError';
  }
}

/** Whether an error is an {@link EgressError}. */
export function isEgressError(error: unknown): error is EgressError {
  return error instanceof EgressError;
}

/** A resolved address of a host name. */
export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Resolves a host name to every address it has (the system resolver, as connections use). */
export type Resolver = (host: string) => Promise<ResolvedAddress[]>;

const systemResolver: Resolver = (host) => dnsLookup(host, { all: true, verbatim: true });

/** Redirect statuses that carry a Location to follow. */
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * Pure: an http(s) URL from a client's text, or EgressError `invalid_url`. No credentials in it
 * (they would be sent to whoever the host is) and a host.
 */
export function parseHttpUrl(text: string, what = 'url'): URL {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new EgressError('invalid_url', `${what} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new EgressError('invalid_url', `${what} must be http or https, not ${url.protocol.replace(/:$/, '')}`);
  if (url.username || url.password) throw new EgressError('invalid_url', `${what} must not carry a user name or password`);
  if (!url.hostname) throw new EgressError('invalid_url', `${what} has no host`);
  return url;
}

/** The host of a URL as a resolver or a policy takes it: IPv6 literals without brackets. */
function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

/**
 * Resolves a URL's host and checks every address against the policy: resolves when at least one
 * is allowed (connections go to that one only), else throws EgressError `not_allowed`; `dns` when
 * the name does not resolve. For checking a callback URL when it is given.
 */
export async function checkUrl(url: URL, policy: AddressPolicy, resolve: Resolver = systemResolver): Promise<void> {
  await allowedAddresses(url, policy, resolve);
}

async function allowedAddresses(url: URL, policy: AddressPolicy, resolve: Resolver): Promise<ResolvedAddress[]> {
  const host = hostOf(url);
  let addresses: ResolvedAddress[];
  if (isIP(host)) {
    addresses = [{ address: host, family: isIP(host) }];
  } else {
    try {
      addresses = await resolve(host);
    } catch (error) {
      throw new EgressError('dns', `the host ${host} does not resolve (${(error as { code?: string }).code ?? 'DNS error'})`);
    }
    if (addresses.length === 0) throw new EgressError('dns', `the host ${host} has no address`);
  }
  const verdicts = addresses.map((a) => ({ ...a, verdict: policy.check(a.address, host) }));
  const allowed = verdicts.filter((v) => v.verdict.allowed).map(({ address, family }) => ({ address, family }));
  if (allowed.length === 0) {
    const first = verdicts[0];
    const range = first && !first.verdict.allowed ? first.verdict.range : 'unknown';
    throw new EgressError('not_allowed', `${url.host} is ${isIP(host) ? 'an address' : `at ${first?.address ?? '?'}`} in a range Argus does not reach (${range}); an operator can allow it with URL_FETCH_ALLOW`);
  }
  return allowed;
}

export interface FetchOptions {
  policy: AddressPolicy;
  /** For the whole exchange, redirects included. */
  timeoutMs: number;
  /** Most bytes of response body. */
  maxBytes: number;
  /** Larger bodies: cut at maxBytes (true) or fail with too_large (false, the default). */
  truncate?: boolean;
  /** Redirects followed (GET only); 0 returns a 3xx as it is. Default 3. */
  maxRedirects?: number;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Only 2xx answers are success; anything else fails with http_status. Default true. */
  okOnly?: boolean;
  signal?: AbortSignal;
  /** How host names are resolved (tests give their own). */
  resolve?: Resolver;
}

export interface FetchedResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The URL that answered (after redirects). */
  url: string;
}

/**
 * An HTTP(S) request to an address a client named, safely: the host is resolved here, every
 * address checked against the policy, and the connection made to a checked address (the lookup
 * the socket uses answers only checked addresses, so nothing can change between the check and
 * the connect); each redirect (at most `maxRedirects`) is checked again; the body is cut off at
 * `maxBytes` and the whole exchange at `timeoutMs`. Fails with an {@link EgressError}.
 */
export async function fetchUrl(start: URL, options: FetchOptions): Promise<FetchedResponse> {
  const maxRedirects = options.method === 'POST' ? 0 : (options.maxRedirects ?? 3);
  const deadline = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([deadline, options.signal]) : deadline;
  let url = start;
  for (let redirects = 0; ; redirects++) {
    const response = await once(url, options, signal, deadline);
    const location = response.headers.location;
    if (maxRedirects > 0 && REDIRECTS.has(response.status) && location) {
      if (redirects >= maxRedirects) throw new EgressError('too_many_redirects', `more than ${maxRedirects} redirects (the last to ${location})`);
      try {
        url = parseHttpUrl(new URL(location, url).toString(), 'a redirect');
      } catch (error) {
        if (isEgressError(error)) throw new EgressError('invalid_url', `${url.host} redirects to something Argus does not follow: ${error.message}`);
        throw error;
      }
      continue;
    }
    if ((options.okOnly ?? true) && (response.status < 200 || response.status > 299)) {
      throw new EgressError('http_status', `${url.host} answered HTTP ${response.status}`, response.status);
    }
    return response;
  }
}

async function once(url: URL, options: FetchOptions, signal: AbortSignal, deadline: AbortSignal): Promise<FetchedResponse> {
  const resolve = options.resolve ?? systemResolver;
  const checked = await withDeadline(allowedAddresses(url, options.policy, resolve), signal, deadline, options.timeoutMs);
  // The socket resolves the name through this, and gets only the addresses checked above.
  const lookup: LookupFunction = (_host, lookupOptions, callback) => {
    const first = checked[0] as ResolvedAddress;
    if ((lookupOptions as { all?: boolean }).all) (callback as (e: null, a: ResolvedAddress[]) => void)(null, checked);
    else callback(null, first.address, first.family);
  };
  const body = options.body === undefined ? undefined : Buffer.isBuffer(options.body) ? options.body : Buffer.from(options.body);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<FetchedResponse>((resolvePromise, reject) => {
    const req = request(url, {
      method: options.method ?? 'GET',
      agent: false,
      lookup,
      signal,
      headers: { 'user-agent': 'Argus', accept: '*/*', ...options.headers, ...(body ? { 'content-length': String(body.length) } : {}) },
    });
    const fail = (error: unknown) => reject(translate(error, url, deadline, options.timeoutMs));
    req.on('error', fail);
    req.on('response', (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      const declared = Number(res.headers['content-length']);
      const tooLarge = () => new EgressError('too_large', `${url.host} sent more than ${options.maxBytes} bytes`);
      if (Number.isFinite(declared) && declared > options.maxBytes && !options.truncate && !(REDIRECTS.has(status) && res.headers.location)) {
        res.destroy();
        return reject(tooLarge());
      }
      const chunks: Buffer[] = [];
      let size = 0;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        resolvePromise({ status, headers: res.headers, body: Buffer.concat(chunks), url: url.toString() });
      };
      res.on('data', (chunk: Buffer) => {
        if (done) return;
        if (size + chunk.length > options.maxBytes) {
          if (!options.truncate) {
            done = true;
            res.destroy();
            return reject(tooLarge());
          }
          chunks.push(chunk.subarray(0, options.maxBytes - size));
          size = options.maxBytes;
          finish();
          res.destroy();
          return;
        }
        chunks.push(chunk);
        size += chunk.length;
      });
      res.on('end', finish);
      res.on('error', (error) => {
        if (!done) {
          done = true;
          fail(error);
        }
      });
    });
    req.end(body);
  });
}

function withDeadline<T>(work: Promise<T>, signal: AbortSignal, deadline: AbortSignal, timeoutMs: number): Promise<T> {
  if (signal.aborted) return Promise.reject(translate(signal.reason, null, deadline, timeoutMs));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(translate(signal.reason, null, deadline, timeoutMs));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** Node's errors as EgressErrors, naming the cause. */
function translate(error: unknown, url: URL | null, deadline: AbortSignal, timeoutMs: number): EgressError {
  if (isEgressError(error)) return error;
  if (deadline.aborted) return new EgressError('timeout', `no complete answer within ${timeoutMs} ms`);
  const code = (error as { code?: string } | null)?.code;
  const where = url ? url.host : 'the host';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new EgressError('dns', `${where} does not resolve`);
  if (code === 'ABORT_ERR') return new EgressError('network', 'the request was aborted');
  return new EgressError('network', `${where}: ${code ?? (error instanceof Error ? error.message : String(error))}`);
}

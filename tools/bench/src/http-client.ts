import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { multipartBody } from './multipart';

export interface HttpReply {
  status: number;
  body: Buffer;
}

/**
 * A light HTTP/1.1 client for the load: node:http over keep-alive sockets (one per client at
 * most), so the load generator costs the two cores as little as it can. No retries: a failure
 * is a result.
 */
export class HttpClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1024, maxFreeSockets: 1024 });
  private readonly boundary = `----argus-bench-${randomBytes(8).toString('hex')}`;

  constructor(
    private readonly baseUrl: string,
    private readonly headers: Record<string, string> = {},
    private readonly timeoutMs = 60000,
  ) {}

  /** POSTs a multipart/form-data upload: the text fields, then the image in field `image`. */
  upload(path: string, fields: Record<string, string>, image: Buffer): Promise<HttpReply> {
    const body = multipartBody(this.boundary, fields, { field: 'image', filename: 'photo.jpg', contentType: 'image/jpeg', data: image });
    return this.send('POST', path, body, { 'content-type': `multipart/form-data; boundary=${this.boundary}` });
  }

  get(path: string): Promise<HttpReply> {
    return this.send('GET', path);
  }

  send(method: string, path: string, body?: Buffer, headers: Record<string, string> = {}): Promise<HttpReply> {
    const url = new URL(path, this.baseUrl);
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          agent: this.agent,
          headers: { ...this.headers, ...headers, ...(body ? { 'content-length': String(body.length) } : {}) },
          timeout: this.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${this.timeoutMs} ms`), { code: 'TIMEOUT' })));
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

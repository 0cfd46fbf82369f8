import { request as httpRequest } from 'node:http';

/** What {@link streamUpload} saw. */
export interface StreamedUpload {
  status: number;
  body: string;
  /** Bytes of the body written when the answer's headers arrived. */
  sentAtAnswer: number;
  /** Whether the connection ended before the whole body was written. */
  cut: boolean;
}

/**
 * POSTs a body of `total` bytes (declared in Content-Length) to `url`, `chunk` bytes at a time
 * (every `pauseMs`, or as fast as the socket takes them), and keeps sending after the answer
 * comes, as a careless client would: shows whether a server answers before reading a body, and
 * whether it then cuts the connection.
 */
export function streamUpload(url: URL, headers: Record<string, string>, total: number, options: { chunk?: number; pauseMs?: number } = {}): Promise<StreamedUpload> {
  const chunk = options.chunk ?? 64 * 1024;
  const pauseMs = options.pauseMs ?? 0;
  return new Promise((resolve, reject) => {
    let sent = 0;
    let sentAtAnswer = -1;
    let answer: { status: number; body: string } | undefined;
    const req = httpRequest(url, { method: 'POST', headers: { ...headers, 'content-length': String(total) } });
    let settled = false;
    const finish = (cut: boolean) => {
      if (settled) return;
      settled = true;
      if (answer) resolve({ ...answer, sentAtAnswer, cut });
      else reject(new Error(`no answer from ${url.toString()} (${sent} of ${total} bytes sent)`));
    };
    req.on('response', (res) => {
      sentAtAnswer = sent;
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => {
        answer = { status: res.statusCode ?? 0, body: Buffer.concat(parts).toString() };
      });
    });
    req.on('error', () => finish(true));
    req.on('close', () => finish(sent < total));
    const pump = () => {
      while (sent < total && !req.destroyed) {
        const n = Math.min(chunk, total - sent);
        sent += n;
        const more = req.write(Buffer.alloc(n, 0x61));
        if (pauseMs > 0) return void setTimeout(pump, pauseMs);
        if (!more) return void req.once('drain', pump);
      }
      if (sent >= total && !req.destroyed) req.end();
    };
    pump();
  });
}

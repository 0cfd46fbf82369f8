import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A plain HTTP server on 127.0.0.1 for a test (images to fetch, webhook receivers), on a free port. */
export interface LocalHttpServer {
  /** `http://127.0.0.1:<port>` */
  base: string;
  port: number;
  /** Stops it, cutting connections still open (a test's slow responses). */
  close(): Promise<void>;
}

/** Starts a {@link LocalHttpServer} answering with `handler`. */
export async function localHttpServer(handler: RequestListener): Promise<LocalHttpServer> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

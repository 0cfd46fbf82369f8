import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { createServer, type Server } from 'node:http';
import { HEALTH_CHECKS, type HealthCheck, readinessBody, runHealthChecks } from './health';
import { Metrics } from './metrics';

/** Where an app's operations port listens. */
export const OPS_SERVER_ADDRESS = Symbol('OPS_SERVER_ADDRESS');

export interface OpsServerAddress {
  host: string;
  port: number;
}

/**
 * The operations port of an app whose main port is public (the gateway): `/metrics`, and
 * `/health/live` and `/health/ready` with every check's detail, as Triton serves metrics apart
 * from inference. Its own small HTTP server, outside Nest's router: nothing of the public API is
 * reachable here, and a scrape never waits behind uploads in the router or its middleware.
 */
@Injectable()
export class OpsServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(OpsServer.name);
  private server: Server | undefined;

  constructor(
    @Inject(OPS_SERVER_ADDRESS) private readonly address: OpsServerAddress,
    private readonly metrics: Metrics,
    @Inject(HEALTH_CHECKS) private readonly checks: HealthCheck[],
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      const send = (status: number, type: string, body: string) => {
        res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
        res.end(body);
      };
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'application/json', JSON.stringify({ error: { code: 'validation_failed', message: 'GET only' } }));
      const answer = async () => {
        if (path === '/metrics') return send(200, 'text/plain; version=0.0.4; charset=utf-8', await this.metrics.registry.metrics());
        if (path === '/health/live') return send(200, 'application/json', JSON.stringify({ status: 'ok' }));
        if (path === '/health/ready') {
          const result = await runHealthChecks(this.checks);
          return send(result.ok ? 200 : 503, 'application/json', JSON.stringify(readinessBody(result, true)));
        }
        return send(404, 'application/json', JSON.stringify({ error: { code: 'not_found', message: 'Served here: /metrics, /health/live, /health/ready' } }));
      };
      answer().catch((error: unknown) => send(500, 'application/json', JSON.stringify({ error: { code: 'internal_error', message: error instanceof Error ? error.message : String(error) } })));
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.address.port, this.address.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.logger.log({ msg: 'operations port listening (metrics, detailed health)', port: this.address.port });
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

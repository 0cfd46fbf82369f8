import express from 'express';
import type { AddressInfo } from 'node:net';
import { ERROR_CODE_LOCAL, httpMetricsMiddleware } from './http-metrics';
import { Metrics } from './metrics';

describe(httpMetricsMiddleware.name, () => {
  it('labels requests by route template, mount or unmatched, and counts error codes', async () => {
    const metrics = new Metrics('test');
    const app = express();
    app.use(httpMetricsMiddleware(metrics, ['/graphql']));
    app.get('/v1/things/:id', (_req, res) => {
      res.json({ ok: true });
    });
    app.use('/graphql', (_req, res) => {
      res.status(200).json({ data: null });
    });
    app.use((_req: express.Request, res: express.Response) => {
      res.locals[ERROR_CODE_LOCAL] = 'not_found';
      res.status(404).json({ error: { code: 'not_found', message: 'no' } });
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      await fetch(`${base}/v1/things/123`);
      await fetch(`${base}/v1/things/456`);
      await fetch(`${base}/graphql`, { method: 'POST' });
      await fetch(`${base}/no/such/path/9f8e7d`);
      await new Promise((r) => setTimeout(r, 20));
      const text = await metrics.registry.metrics();
      expect(text).toContain('argus_http_requests_total{method="GET",route="/v1/things/:id",status="200",app="test"} 2');
      expect(text).toContain('argus_http_requests_total{method="POST",route="/graphql",status="200",app="test"} 1');
      expect(text).toContain('argus_http_requests_total{method="GET",route="unmatched",status="404",app="test"} 1');
      expect(text).toContain('argus_api_errors_total{code="not_found",status="404",app="test"} 1');
      expect(text).toContain('argus_http_requests_in_flight{app="test"} 0');
      expect(text).not.toContain('9f8e7d');
    } finally {
      server.close();
    }
  });
});

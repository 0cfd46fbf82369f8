import { Logger } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { Counter, Gauge, Histogram } from 'prom-client';
import { LATENCY_BUCKETS, type Metrics } from './metrics';
import { startServerSpan } from './tracing';

/** Where an error response records its stable code for metrics (`res.locals[ERROR_CODE_LOCAL]`). */
export const ERROR_CODE_LOCAL = 'argusErrorCode';

/** HTTP request metrics of one app (the gateway): counts, durations, in flight, API errors by code. */
export interface HttpMetrics {
  requests: Counter<'method' | 'route' | 'status'>;
  duration: Histogram<'method' | 'route' | 'status'>;
  inFlight: Gauge;
  errors: Counter<'code' | 'status'>;
}

const HTTP_BUCKETS = [...LATENCY_BUCKETS.filter((b) => b < 30), 30, 60];
const registered = new WeakMap<Metrics, HttpMetrics>();

/** Registers the HTTP metrics in an app's registry (once). */
export function httpMetricsOf(metrics: Metrics): HttpMetrics {
  const existing = registered.get(metrics);
  if (existing) return existing;
  const registry = metrics.registry;
  const http: HttpMetrics = {
    requests: new Counter({
      name: 'argus_http_requests_total',
      help: 'HTTP requests answered, by method, route template and status.',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'argus_http_request_duration_seconds',
      help: 'HTTP request duration (to the last byte of the response), by method, route template and status.',
      labelNames: ['method', 'route', 'status'],
      buckets: HTTP_BUCKETS,
      registers: [registry],
    }),
    inFlight: new Gauge({
      name: 'argus_http_requests_in_flight',
      help: 'HTTP requests being handled now (long-lived event streams included).',
      registers: [registry],
    }),
    errors: new Counter({
      name: 'argus_api_errors_total',
      help: 'Error responses by stable error code (see libs/contracts errors.ts) and status.',
      labelNames: ['code', 'status'],
      registers: [registry],
    }),
  };
  registered.set(metrics, http);
  return http;
}

/**
 * Express middleware observing every request once: its trace span (a child of the caller's
 * `traceparent`; a no-op while tracing is off), and once it ends (finished or aborted) its metrics
 * and one access-log line. The route label is the matched route template
 * (`/v1/detections/:id`), the mount point of routers that do their own routing (`mounts`, e.g.
 * /graphql, /admin/queues), or `unmatched`: never the raw path, so ids and probes cannot explode
 * the label set.
 */
export function httpMetricsMiddleware(metrics: Metrics, mounts: readonly string[] = []): (req: Request, res: Response, next: NextFunction) => void {
  const http = httpMetricsOf(metrics);
  const access = new Logger('http');
  return (req, res, next) => {
    const started = performance.now();
    http.inFlight.inc();
    let done = false;
    const span = startServerSpan(req.method, 'request', req.headers, next);
    const record = () => {
      if (done) return;
      done = true;
      http.inFlight.dec();
      const route = routeOf(req, mounts);
      const status = res.headersSent || res.writableFinished ? String(res.statusCode) : 'aborted';
      const labels = { method: req.method, route, status };
      const ms = performance.now() - started;
      http.requests.inc(labels);
      http.duration.observe(labels, ms / 1000);
      const code = res.locals[ERROR_CODE_LOCAL] as unknown;
      if (typeof code === 'string') http.errors.inc({ code, status });
      span.updateName(`${req.method} ${route}`);
      span.setAttributes({ 'http.route': route, 'http.response.status_code': res.statusCode });
      span.end();
      access.log({
        msg: 'request',
        method: req.method,
        route,
        status,
        ms: Math.round(ms * 10) / 10,
        bytesIn: Number(req.headers['content-length'] ?? 0),
        client: (req as { argus?: { clientId?: string } }).argus?.clientId,
        correlationId: (req as { argus?: { correlationId?: string } }).argus?.correlationId,
        ...(typeof code === 'string' ? { code } : {}),
      });
    };
    res.once('finish', record);
    res.once('close', record);
  };
}

/** The route template of a handled request, for labels. */
export function routeOf(req: Request, mounts: readonly string[]): string {
  const route = req.route as { path?: unknown } | undefined;
  // A router mounted at a path whose own route is that path (Apollo's /graphql) must not say it twice.
  if (route && typeof route.path === 'string') return req.baseUrl && route.path === req.baseUrl ? req.baseUrl : `${req.baseUrl ?? ''}${route.path}`;
  const path = (req.originalUrl ?? req.url).split('?')[0]?.toLowerCase() ?? '';
  for (const mount of mounts) if (path === mount || path.startsWith(`${mount}/`)) return mount;
  return 'unmatched';
}

import { Controller, type FactoryProvider, Get, HttpCode, HttpStatus, Inject, Optional, Res } from '@nestjs/common';
import type { Response } from 'express';
import { Gauge } from 'prom-client';
import { Metrics } from './metrics';

/** One readiness check. `detail` says why when it fails (shown on /health/ready). */
export interface HealthCheck {
  name: string;
  check(): Promise<{ ok: boolean; detail?: unknown }>;
  /**
   * false: a failure is reported (status `degraded`) but the app stays ready, for dependencies the
   * app can work without for a while (taking it out of service would turn a partial outage into a
   * full one). Default true.
   */
  critical?: boolean;
}

/** Checks contributed by an app's modules; the readiness endpoint runs them all. */
export const HEALTH_CHECKS = Symbol('HEALTH_CHECKS');

/** Runs readiness checks with a timeout each, so one hung dependency cannot hang the probe. */
export async function runHealthChecks(
  checks: readonly HealthCheck[],
  timeoutMs = 2000,
): Promise<{ ok: boolean; degraded: boolean; checks: Record<string, { ok: boolean; detail?: unknown }> }> {
  const results = await Promise.all(
    checks.map(async (c) => {
      let timer: NodeJS.Timeout | undefined;
      try {
        const outcome = await Promise.race([
          c.check(),
          new Promise<{ ok: boolean; detail?: unknown }>((resolve) => {
            timer = setTimeout(() => resolve({ ok: false, detail: `no answer within ${timeoutMs} ms` }), timeoutMs);
          }),
        ]);
        return [c.name, outcome] as const;
      } catch (error) {
        return [c.name, { ok: false, detail: error instanceof Error ? error.message : String(error) }] as const;
      } finally {
        if (timer) clearTimeout(timer);
      }
    }),
  );
  const critical = (name: string) => checks.find((c) => c.name === name)?.critical !== false;
  return {
    ok: results.every(([name, r]) => r.ok || !critical(name)),
    degraded: results.some(([, r]) => !r.ok),
    checks: Object.fromEntries(results),
  };
}

/** Whether /health/ready on an app's main port names each check and why it fails (default yes). */
export const HEALTH_DETAIL = Symbol('HEALTH_DETAIL');

/** The readiness answer: the status, and each check's result when `detail` (not on a public port). */
export function readinessBody(result: Awaited<ReturnType<typeof runHealthChecks>>, detail: boolean): { status: string; checks?: Record<string, { ok: boolean; detail?: unknown }> } {
  const status = result.ok ? (result.degraded ? 'degraded' : 'ok') : 'unavailable';
  return detail ? { status, checks: result.checks } : { status };
}

/**
 * `/health/live` and `/health/ready`. Add it to an app's controllers with {@link healthChecks}. On a
 * public port (HEALTH_DETAIL false) readiness says only its status: which dependency is down, and
 * why, is for the operations port.
 */
@Controller('health')
export class HealthController {
  constructor(
    @Inject(HEALTH_CHECKS) private readonly checks: HealthCheck[],
    @Optional() @Inject(HEALTH_DETAIL) private readonly detail = true,
  ) {}

  /** The process is up and its event loop turns. */
  @Get('live')
  @HttpCode(HttpStatus.OK)
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Ready to take work: every critical check passes (`degraded` names the others that fail). 503 with the reasons otherwise. */
  @Get('ready')
  async ready(@Res({ passthrough: true }) res: Response): Promise<unknown> {
    const result = await runHealthChecks(this.checks);
    res.status(result.ok ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE);
    return readinessBody(result, this.detail);
  }
}

/**
 * Readiness as gauges, evaluated when scraped: `argus_ready` (1 when every critical check passes,
 * as /health/ready answers 200) and `argus_health_check_ok{check}`. An alert can then tell an app
 * that is up but not ready (a model not loaded, Postgres away) from one that is down.
 */
export function registerReadinessMetrics(metrics: Metrics, checks: readonly HealthCheck[]): void {
  // Both gauges are collected in one scrape: they share one round of checks.
  let round: ReturnType<typeof runHealthChecks> | undefined;
  const evaluate = () => {
    round ??= runHealthChecks(checks).finally(() => {
      round = undefined;
    });
    return round;
  };
  new Gauge({
    name: 'argus_ready',
    help: '1 when every critical readiness check passes (what /health/ready answers with 200), else 0.',
    registers: [metrics.registry],
    async collect() {
      this.set((await evaluate()).ok ? 1 : 0);
    },
  });
  new Gauge({
    name: 'argus_health_check_ok',
    help: '1 when the readiness check passes, else 0 (non-critical ones included).',
    labelNames: ['check'],
    registers: [metrics.registry],
    async collect() {
      const result = await evaluate();
      this.reset();
      for (const [check, outcome] of Object.entries(result.checks)) this.set({ check }, outcome.ok ? 1 : 0);
    },
  });
}

/** The provider of an app's readiness checks, built from its own services; exported as gauges too. */
export function healthChecks(factory: Omit<FactoryProvider<HealthCheck[]>, 'provide'>): FactoryProvider<HealthCheck[]> {
  const inject = factory.inject ?? [];
  return {
    provide: HEALTH_CHECKS,
    inject: [...inject, { token: Metrics, optional: true }],
    useFactory: async (...args: unknown[]) => {
      const checks = (await factory.useFactory(...args.slice(0, inject.length))) as HealthCheck[];
      const metrics = args[inject.length] as Metrics | undefined;
      if (metrics) registerReadinessMetrics(metrics, checks);
      return checks;
    },
  };
}

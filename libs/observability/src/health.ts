import { Controller, type FactoryProvider, Get, HttpCode, HttpStatus, Inject, Optional, Res } from '@nestjs/common';
import type { Response } from 'express';

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

/** The provider of an app's readiness checks, built from its own services. */
export function healthChecks(factory: Omit<FactoryProvider<HealthCheck[]>, 'provide'>): FactoryProvider<HealthCheck[]> {
  return { provide: HEALTH_CHECKS, ...factory };
}

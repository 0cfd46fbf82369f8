import { Test } from '@nestjs/testing';
import { HEALTH_CHECKS, type HealthCheck, healthChecks, registerReadinessMetrics, runHealthChecks } from './health';
import { Metrics, MetricsModule } from './metrics';

describe(runHealthChecks.name, () => {
  it('is ready when every critical check passes, degraded when a non-critical one fails', async () => {
    const result = await runHealthChecks([
      { name: 'redis', check: async () => ({ ok: true }) },
      { name: 'results', critical: false, check: async () => ({ ok: false, detail: 'down' }) },
    ]);
    expect(result).toEqual({ ok: true, degraded: true, checks: { redis: { ok: true }, results: { ok: false, detail: 'down' } } });
  });

  it('is not ready when a critical check fails, throws or hangs', async () => {
    const result = await runHealthChecks(
      [
        { name: 'a', check: async () => ({ ok: true }) },
        { name: 'b', check: () => Promise.reject(new Error('boom')) },
        { name: 'c', check: () => new Promise(() => undefined) },
      ],
      50,
    );
    expect(result.ok).toBe(false);
    expect(result.checks['b']).toEqual({ ok: false, detail: 'boom' });
    expect(result.checks['c']).toEqual({ ok: false, detail: 'no answer within 50 ms' });
  });
});

describe(registerReadinessMetrics.name, () => {
  it('exports readiness and each check as gauges, evaluated when scraped, one round per scrape', async () => {
    const metrics = new Metrics('test');
    let redisUp = true;
    let rounds = 0;
    registerReadinessMetrics(metrics, [
      {
        name: 'redis',
        check: async () => {
          rounds += 1;
          return { ok: redisUp };
        },
      },
      { name: 'results', critical: false, check: async () => ({ ok: false }) },
    ]);
    const ready = await metrics.registry.metrics();
    expect(ready).toMatch(/^argus_ready\{app="test"\} 1$/m);
    expect(ready).toMatch(/^argus_health_check_ok\{check="redis",app="test"\} 1$/m);
    expect(ready).toMatch(/^argus_health_check_ok\{check="results",app="test"\} 0$/m);
    expect(rounds).toBe(1);
    redisUp = false;
    const down = await metrics.registry.metrics();
    expect(down).toMatch(/^argus_ready\{app="test"\} 0$/m);
    expect(down).toMatch(/^argus_health_check_ok\{check="redis",app="test"\} 0$/m);
    expect(rounds).toBe(2);
  });
});

describe(healthChecks.name, () => {
  it('provides the checks and exports them as gauges when the app has metrics', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [MetricsModule.forRoot('test', { route: false })],
      providers: [
        { provide: 'DEPENDENCY', useValue: { ok: true } },
        healthChecks({ inject: ['DEPENDENCY'], useFactory: (dep: { ok: boolean }) => [{ name: 'dep', check: async () => dep }] }),
      ],
    }).compile();
    const checks = moduleRef.get<HealthCheck[]>(HEALTH_CHECKS);
    expect(checks.map((c) => c.name)).toEqual(['dep']);
    expect(await moduleRef.get(Metrics).registry.metrics()).toMatch(/^argus_ready\{app="test"\} 1$/m);
    await moduleRef.close();
  });

  it('still provides the checks in an app without metrics', async () => {
    const moduleRef = await Test.createTestingModule({
      providers: [healthChecks({ useFactory: () => [{ name: 'dep', check: async () => ({ ok: true }) }] })],
    }).compile();
    expect(moduleRef.get<HealthCheck[]>(HEALTH_CHECKS)).toHaveLength(1);
    await moduleRef.close();
  });
});

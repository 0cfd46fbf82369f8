import { runHealthChecks } from './health';

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

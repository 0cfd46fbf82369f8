/**
 * Prints the operational figures of docs/operations.md on this machine: what the API key check and
 * the per-key rate limiter cost a request, how fast the gateway answers while Redis is away and
 * how soon it takes work again, and how long a gateway takes to drain on SIGTERM.
 *
 *   npm run build
 *   SWC_NODE_PROJECT=tools/cli/tsconfig.app.json node -r @swc-node/register tools/cli/src/ops-figures.ts
 *
 * Uses the built apps (dist/), the local Postgres, and a private redis-server on a free port.
 * Figures, not assertions: run it on a quiet machine.
 */
import { type Stack, startRedisServer, startStack, testImage } from '@argus/testing';
import { readFileSync } from 'node:fs';

const ROUNDS = 300;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function summary(values: number[]): string {
  return `p50 ${percentile(values, 50).toFixed(2)} ms, p99 ${percentile(values, 99).toFixed(2)} ms (n=${values.length})`;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await fn();
  return { ms: performance.now() - started, value };
}

function submitter(stack: Stack, image: Buffer) {
  return async (fields: Record<string, string> = {}, query = ''): Promise<{ ms: number; status: number }> => {
    const form = new FormData();
    form.set('image', new Blob([new Uint8Array(image)]), 'image.jpg');
    for (const [key, value] of Object.entries(fields)) form.set(key, value);
    const { ms, value } = await timed(async () => {
      const res = await fetch(`${stack.baseUrl}/v1/detections${query}`, { method: 'POST', body: form, headers: { 'x-api-key': stack.apiKey } });
      await res.arrayBuffer();
      return res.status;
    });
    return { ms, status: value };
  };
}

async function get(stack: Stack, path: string, withKey: boolean): Promise<number> {
  const { ms } = await timed(async () => (await fetch(`${stack.baseUrl}${path}`, { headers: withKey ? { 'x-api-key': stack.apiKey } : {} })).arrayBuffer());
  return ms;
}

async function main(): Promise<void> {
  const image = readFileSync(testImage('zidane.jpg'));
  const redis = await startRedisServer();
  const stack = await startStack({ label: 'opsfigures', redisUrl: redis.url });
  const post = submitter(stack, image);
  try {
    await post({}, '?wait=20000'); // the cache now holds this image's result
    for (const limiter of ['on (default)', 'off (RATE_LIMIT_PER_SECOND=0)']) {
      if (limiter.startsWith('off')) {
        await stack.stopApp('api-gateway');
        await stack.startApp('api-gateway', { RATE_LIMIT_PER_SECOND: '0' });
      }
      for (let i = 0; i < 30; i++) await post();
      const hits: number[] = [];
      const models: number[] = [];
      const live: number[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        hits.push((await post()).ms);
        models.push(await get(stack, '/v1/models', true));
        live.push(await get(stack, '/health/live', false));
      }
      console.log(`rate limiter ${limiter}`);
      console.log(`  POST /v1/detections, cache hit: ${summary(hits)}`);
      console.log(`  GET /v1/models (key checked):   ${summary(models)}`);
      console.log(`  GET /health/live (no key):      ${summary(live)}`);
    }

    await redis.stop('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    const down: number[] = [];
    const statuses = new Set<number>();
    for (let i = 0; i < 100; i++) {
      const reply = await post({ confidence: (0.3 + i * 0.001).toFixed(3) });
      down.push(reply.ms);
      statuses.add(reply.status);
    }
    console.log(`Redis stopped: submissions answered ${[...statuses].join(', ')} in ${summary(down)}`);
    await redis.start();
    const back = performance.now();
    let firstAccepted = Number.NaN;
    while (performance.now() - back < 30000) {
      const reply = await post({ confidence: '0.77' });
      if (reply.status === 200 || reply.status === 202) {
        firstAccepted = performance.now() - back;
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    console.log(`Redis back: first submission accepted ${firstAccepted.toFixed(0)} ms after it answered PING`);

    await stack.stopApp('inference'); // so the waits below cannot end by themselves
    const pending = [0, 1, 2, 3].map((i) => post({ confidence: (0.6 + i * 0.01).toFixed(2) }, '?wait=20000'));
    await new Promise((r) => setTimeout(r, 500));
    const { ms: exitMs } = await timed(() => stack.stopApp('api-gateway', 'SIGTERM'));
    const replies = await Promise.all(pending);
    console.log(`gateway SIGTERM with 4 requests waiting: exited in ${exitMs.toFixed(0)} ms, they got ${replies.map((r) => r.status).join(', ')}`);
  } finally {
    await stack.stop();
    await redis.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

import { type Stack, startStack } from '@argus/testing';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eventually, photo, upload } from './helpers';

/** A span as an OTLP/HTTP JSON export carries it, with its service. */
interface ExportedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: Record<string, unknown>;
}

interface OtlpJson {
  resourceSpans?: {
    resource?: { attributes?: { key: string; value: Record<string, unknown> }[] };
    scopeSpans?: { spans?: { traceId: string; spanId: string; parentSpanId?: string; name: string; attributes?: { key: string; value: Record<string, unknown> }[] }[] }[];
  }[];
}

const valueOf = (v: Record<string, unknown>) => Object.values(v)[0];

/** An OTLP/HTTP receiver in the test process: what the three apps export lands here. */
async function startReceiver(): Promise<{ url: string; spans: ExportedSpan[]; close: () => Promise<void> }> {
  const spans: ExportedSpan[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as OtlpJson;
      for (const rs of body.resourceSpans ?? []) {
        const service = String(valueOf(rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value ?? {}) ?? '');
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) {
            spans.push({
              service,
              traceId: s.traceId,
              spanId: s.spanId,
              ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
              name: s.name,
              attributes: Object.fromEntries((s.attributes ?? []).map((a) => [a.key, valueOf(a.value)])),
            });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, spans, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('traces: one trace from the HTTP request through the queues to the row (OTLP, in-process receiver)', () => {
  let stack: Stack;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  beforeAll(async () => {
    receiver = await startReceiver();
    stack = await startStack({
      label: 'tracing',
      env: { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '200' },
    });
  });
  afterAll(async () => {
    await stack?.stop();
    await receiver?.close();
  });

  it('shows the gateway, the worker and apps/results writing the row in one trace', async () => {
    const res = await upload(stack, photo('bus.jpg'), {}, '?wait=30000', { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
    expect(res.status).toBe(200);
    const id = String(res.body['id']);
    const trace = '0af7651916cd43dd8448eb211c80319c';
    const spans = await eventually(async () => {
      const mine = receiver.spans.filter((s) => s.traceId === trace);
      const row = mine.find((s) => s.service === 'argus-results' && s.name === 'persist rows' && String(s.attributes['argus.request_ids']).includes(id));
      return row ? mine : undefined;
    }, 30000, 200);
    const services = new Set(spans.map((s) => s.service));
    expect([...services].sort()).toEqual(['argus-api-gateway', 'argus-inference', 'argus-results']);
    // The request's own span continues the caller's trace; the worker's stages hang below its job.
    expect(spans.find((s) => s.service === 'argus-api-gateway' && s.name === 'POST /v1/detections')?.parentSpanId).toBe('b7ad6b7169203331');
    for (const stage of ['fetch', 'preprocess', 'inference', 'end of work']) {
      expect({ stage, found: spans.some((s) => s.service === 'argus-inference' && s.name === stage) }).toEqual({ stage, found: true });
    }
    // Every span but the request's has its parent inside the trace: one tree, no orphans.
    const ids = new Set(spans.map((s) => s.spanId));
    const orphans = spans.filter((s) => s.parentSpanId && s.parentSpanId !== 'b7ad6b7169203331' && !ids.has(s.parentSpanId)).map((s) => `${s.service}:${s.name}`);
    expect(orphans).toEqual([]);
  });
});

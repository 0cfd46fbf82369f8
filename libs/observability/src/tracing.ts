import { context, type Context, propagation, type Span, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { BullMQOtel } from 'bullmq-otel';

/** Whether traces are exported, and under which service name (from the standard OTEL_* variables). */
export interface TracingOptions {
  enabled: boolean;
  serviceName: string;
}

let provider: NodeTracerProvider | undefined;
let bullmq: BullMQOtel | undefined;

/**
 * Starts OpenTelemetry tracing for one app when the standard OTEL_* variables ask for it (off by
 * default): spans go in batches to the OTLP/HTTP exporter, which reads its endpoint, headers and
 * protocol from OTEL_EXPORTER_OTLP_* itself; W3C trace context crosses HTTP and, through
 * bullmq-otel, every BullMQ job. `exporter` replaces OTLP (tests). Call it before the app's
 * queues and workers are created: they take their telemetry then.
 */
export function startTracing(options: TracingOptions, exporter?: SpanExporter): void {
  if (!options.enabled || provider) return;
  provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName }),
    spanProcessors: [new BatchSpanProcessor(exporter ?? new OTLPTraceExporter())],
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  bullmq = new BullMQOtel({ tracerName: 'argus.bullmq' });
}

/** Flushes the spans not yet exported and stops tracing (at shutdown; a no-op when it is off). */
export async function stopTracing(): Promise<void> {
  const running = provider;
  provider = undefined;
  bullmq = undefined;
  await running?.shutdown();
}

/** Flushes traces when the app shuts down (every app has it, through MetricsModule). */
@Injectable()
export class TracingShutdown implements OnApplicationShutdown {
  async onApplicationShutdown(): Promise<void> {
    await stopTracing();
  }
}

/** The BullMQ telemetry to give queues and workers (undefined while tracing is off: no cost). */
export function bullmqTelemetry(): BullMQOtel | undefined {
  return bullmq;
}

/** Argus's tracer (a no-op one while tracing is off). */
export function tracer(): Tracer {
  return trace.getTracer('argus');
}

/** Runs `fn` in a span (a child of the active one), recording a thrown error on it. */
export async function inSpan<T>(name: string, attributes: Record<string, string | number | boolean>, fn: (span: Span) => Promise<T>): Promise<T> {
  return tracer().startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (error) {
      span.recordException(error instanceof Error ? error : new Error(String(error)));
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw error;
    } finally {
      span.end();
    }
  });
}

/**
 * The server span of an incoming HTTP request, as a child of the caller's `traceparent` if it
 * sent one; `run` goes on inside it. Returns the span so the caller ends it when the response is done.
 */
export function startServerSpan(method: string, path: string, headers: Record<string, string | string[] | undefined>, run: () => void): Span {
  const parent: Context = propagation.extract(context.active(), headers);
  const span = tracer().startSpan(`${method} ${path}`, { kind: SpanKind.SERVER, attributes: { 'http.request.method': method, 'url.path': path } }, parent);
  context.with(trace.setSpan(parent, span), run);
  return span;
}

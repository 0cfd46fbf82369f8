import 'reflect-metadata';
import { loadConfig } from '@argus/config';
import { createLogger, NestLogger, startTracing } from '@argus/observability';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import { DetectProcessor } from './detect/detect.processor';
import { ModelHost } from './models/model-host.service';

/**
 * The inference process: health and metrics over HTTP at once (ready stays false), then every
 * model loaded and warmed, then the worker starts taking jobs.
 */
async function bootstrap(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('inference', config.log);
  // Before the app: its queues and workers take their telemetry when they are created.
  startTracing({ enabled: config.tracing.enabled, serviceName: config.tracing.serviceName || 'argus-inference' });
  const app = await NestFactory.create(AppModule.forRoot(config), { logger: new NestLogger(logger) });
  // process.exit after the hooks (not a re-raised signal): pino flushes its last lines on exit.
  app.enableShutdownHooks(undefined, { useProcessExit: true });
  await app.listen(config.inference.port, config.inference.host);
  logger.info({ port: config.inference.port }, 'health and metrics listening');
  const models = app.get(ModelHost);
  await models.load();
  const readiness = models.readiness();
  if (!readiness.ok) {
    // A queue worker takes work whatever its readiness probe says: the only way not to serve on
    // the wrong provider is not to start. Stay up, not ready, saying why on /health/ready.
    logger.error({ reason: readiness.detail }, 'not taking jobs: the models do not run on the asked execution provider (ALLOW_CPU_FALLBACK=true accepts that)');
    return;
  }
  const processor = app.get(DetectProcessor);
  for (const model of models.all()) processor.start(model.info.name);
}

bootstrap().catch((error: unknown) => {
  // Fail loudly and let the supervisor restart us: a worker without its models must not run.
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});

import 'reflect-metadata';
import { loadConfig } from '@argus/config';
import { createLogger, NestLogger, startTracing } from '@argus/observability';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import { DetectProcessor } from './detect/detect.processor';
import { ModelHost } from './models/model-host.service';

/**
 * The inference process: health and metrics over HTTP at once (ready stays false), then the
 * models loaded and warmed, each model's worker taking jobs as soon as its first version is warm;
 * from then on the models follow the repository and the operators (ModelHost).
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
  // A version that loads on another provider than asked is refused (not started), unless
  // ALLOW_CPU_FALLBACK: a queue worker takes work whatever its readiness probe says.
  await models.start(app.get(DetectProcessor));
  const readiness = models.readiness();
  if (!readiness.ok) logger.error({ reason: readiness.detail }, 'not ready: no model serves (see /health/ready); the repository is watched for fixes');
}

bootstrap().catch((error: unknown) => {
  // Fail loudly and let the supervisor restart us (a broken model does not come here: it is reported unavailable).
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});

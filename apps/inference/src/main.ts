import 'reflect-metadata';
import { loadConfig } from '@argus/config';
import { createLogger, NestLogger } from '@argus/observability';
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
  const app = await NestFactory.create(AppModule.forRoot(config), { logger: new NestLogger(logger) });
  app.enableShutdownHooks();
  await app.listen(config.inference.port, config.inference.host);
  logger.info({ port: config.inference.port }, 'health and metrics listening');
  await app.get(ModelHost).load();
  app.get(DetectProcessor).start();
}

bootstrap().catch((error: unknown) => {
  // Fail loudly and let the supervisor restart us: a worker without its models must not run.
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});

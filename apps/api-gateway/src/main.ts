import 'reflect-metadata';
import { loadConfig } from '@argus/config';
import { createLogger, NestLogger } from '@argus/observability';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import express from 'express';
import { AppModule } from './app.module';
import { correlationMiddleware } from './http/request-context';

/** The public HTTP entry point: uploads, job status, models. */
async function bootstrap(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('api-gateway', config.log);
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    logger: new NestLogger(logger),
    bodyParser: false,
  });
  app.enableShutdownHooks();
  app.disable('x-powered-by');
  app.use(correlationMiddleware);
  // Raw image bodies (Content-Type image/*) are read up to the image size limit; multipart goes
  // through multer in the controller; small JSON bodies for everything else.
  app.use(express.raw({ type: 'image/*', limit: config.limits.maxImageBytes }));
  app.use(express.json({ limit: '1mb' }));
  await app.listen(config.gateway.port, config.gateway.host);
  logger.info({ port: config.gateway.port }, 'gateway listening');
}

bootstrap().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});

import 'reflect-metadata';
import { loadConfig } from '@argus/config';
import { REDIS } from '@argus/broker';
import { createLogger, httpMetricsMiddleware, Metrics, NestLogger, startTracing } from '@argus/observability';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import helmet from 'helmet';
import type { Redis } from 'ioredis';
import { AppModule } from './app.module';
import { correlationMiddleware } from './http/request-context';
import { AuthMiddleware } from './access/auth.middleware';
import { corsOptions } from './access/cors';
import { Drain } from './access/drain.service';
import { redisGate } from './access/redis-gate';
import { setupDocs } from './docs/openapi';
import { answerOptions, bodyParsers, lingerUnreadBodies } from './http/body-limits';

/** The public HTTP entry point: uploads, job status, models. */
async function bootstrap(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('api-gateway', config.log);
  // Before the app: its queues and workers take their telemetry when they are created.
  startTracing({ enabled: config.tracing.enabled, serviceName: config.tracing.serviceName || 'argus-api-gateway' });
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    logger: new NestLogger(logger),
    bodyParser: false,
  });
  // process.exit after the hooks (not a re-raised signal): pino flushes its last lines on exit.
  app.enableShutdownHooks(undefined, { useProcessExit: true });
  app.disable('x-powered-by');
  // Which X-Forwarded-For hops to believe (TRUST_PROXY): req.ip is then the client's address.
  app.set('trust proxy', config.gateway.trustProxy);
  // Order matters: metrics see every request; a draining gateway refuses before doing any work;
  // OPTIONS ends before authentication; strangers are refused (401) before their body is read;
  // Redis down means 503 at once; only then is a body read, with its route's own limit.
  app.use(httpMetricsMiddleware(app.get(Metrics), ['/graphql', '/admin/queues', '/docs', '/web']));
  app.use(correlationMiddleware);
  app.use(lingerUnreadBodies);
  app.use(app.get(Drain).middleware);
  // Strict CSP in production; elsewhere GraphiQL (scripts from unpkg.com) must be able to load.
  app.use(helmet(config.production ? {} : { contentSecurityPolicy: false }));
  const cors = corsOptions(config.cors.origins);
  if (cors) app.enableCors(cors);
  app.use(answerOptions);
  app.use(app.get(AuthMiddleware).handle);
  app.use(redisGate(app.get<Redis>(REDIS)));
  // Raw images on POST /v1/detections (multipart: multer in the controller), GraphQL JSON with
  // room for a base64 image (multipart: GraphqlMultipartMiddleware), small JSON on the other API
  // routes, and no body at all anywhere else.
  app.use(bodyParsers({ maxImageBytes: config.limits.maxImageBytes, maxJsonBytes: config.limits.maxJsonBytes }));
  setupDocs(app);
  await app.listen(config.gateway.port, config.gateway.host);
  logger.info({ port: config.gateway.port }, 'gateway listening');
}

bootstrap().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});

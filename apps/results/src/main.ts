import 'reflect-metadata';
import { loadConfig } from '@argus/config';
import { createLogger, NestLogger } from '@argus/observability';
import { NestFactory } from '@nestjs/core';
import { type MicroserviceOptions, Transport } from '@nestjs/microservices';
import { AppModule } from './app.module';

/**
 * apps/results: owns Postgres. Consumes the results queue, answers the gateway's reads over TCP
 * (@nestjs/microservices), and serves health and metrics over HTTP.
 */
async function bootstrap(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('results', config.log);
  const app = await NestFactory.create(AppModule.forRoot(config), { logger: new NestLogger(logger) });
  app.enableShutdownHooks();
  app.connectMicroservice<MicroserviceOptions>({
    transport: Transport.TCP,
    options: { host: config.results.host, port: config.results.rpcPort },
  });
  await app.startAllMicroservices();
  await app.listen(config.results.port, config.results.host);
  logger.info({ port: config.results.port, rpcPort: config.results.rpcPort }, 'results ready');
}

bootstrap().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});

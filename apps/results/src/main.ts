import 'reflect-metadata';
import { loadConfig } from '@argus/config';
import { createLogger, NestLogger, startTracing } from '@argus/observability';
import { NestFactory } from '@nestjs/core';
import { type MicroserviceOptions, Transport } from '@nestjs/microservices';
import { AppModule } from './app.module';
import { runKeysCli } from './keys/keys-cli';
import { runPersistCli } from './persist/persist-cli';

/**
 * apps/results: owns Postgres. Processes the `results` queue (persist jobs), the `maintenance`
 * queue (the reconciler, retention), `batches` (batch flows) and `webhooks` (deliveries), answers
 * the gateway's reads (and erasures) over TCP
 * (@nestjs/microservices), and serves health and metrics over HTTP.
 */
async function bootstrap(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('results', config.log);
  // Before the app: its queues and workers take their telemetry when they are created.
  startTracing({ enabled: config.tracing.enabled, serviceName: config.tracing.serviceName || 'argus-results' });
  const app = await NestFactory.create(AppModule.forRoot(config), { logger: new NestLogger(logger) });
  // process.exit after the hooks (not a re-raised signal): pino flushes its last lines on exit.
  app.enableShutdownHooks(undefined, { useProcessExit: true });
  app.connectMicroservice<MicroserviceOptions>({
    transport: Transport.TCP,
    options: { host: config.results.host, port: config.results.rpcPort },
  });
  await app.startAllMicroservices();
  await app.listen(config.results.port, config.results.host);
  logger.info({ port: config.results.port, rpcPort: config.results.rpcPort }, 'results ready');
}

/** `main.js keys ...`: the API keys CLI (this app owns Postgres, so the CLI lives here). */
async function keysCli(argv: string[]): Promise<void> {
  process.exitCode = await runKeysCli(argv, loadConfig(), {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  });
}

/** `main.js persist ...`: persist jobs that failed for good (list, retry). */
async function persistCli(argv: string[]): Promise<void> {
  process.exitCode = await runPersistCli(argv, loadConfig(), {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  });
}

const cli = { keys: keysCli, persist: persistCli }[process.argv[2] ?? ''];
(cli ? cli(process.argv.slice(3)) : bootstrap()).catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});

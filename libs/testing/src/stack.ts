import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { testModelRepository, workspaceRoot } from './paths';
import { redisForTest, schemaForTest } from './services';

export type AppName = 'api-gateway' | 'inference' | 'results';

/** A free TCP port on localhost. */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port as number;
}

/**
 * `n` distinct free TCP ports on 127.0.0.1. All are held open until every one is chosen: asked one
 * after another, the system may hand out a port it has just given back, and two apps of one
 * stack would then share a port (the second fails to start while the first answers its probes).
 */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Server>((resolve, reject) => {
          const server = createServer();
          server.unref();
          server.on('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    if (typeof address !== 'object' || !address) throw new Error('no port');
    return address.port;
  });
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/** Polls `url` until it answers 200 (or throws after `timeoutMs`, with what it last saw). */
export async function waitForHttp(url: string, timeoutMs = 60000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      if (res.status === 200) return;
      last = `${res.status} ${(await res.text()).slice(0, 300)}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await sleep(100);
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms: ${last}`);
}

export interface StackOptions {
  /** Names the Redis prefix, the Postgres schema and the log folder. */
  label: string;
  /** Apps to start now (default all three); others can be started later. */
  start?: AppName[];
  /** Extra environment for every app. */
  env?: Record<string, string>;
  /** Redis and Postgres of this stack (default: the shared test ones); fault tests pass their own servers'. */
  redisUrl?: string;
  databaseUrl?: string;
  /** Extra node options for every app, before the script (e.g. --cpu-prof, which NODE_OPTIONS refuses). */
  nodeArgs?: string[];
}

/** A running Argus made of the built apps (dist/apps), on real Redis and Postgres, isolated by a fresh prefix and schema. */
export interface Stack {
  baseUrl: string;
  /** The gateway's operations port: /metrics and detailed /health/ready. */
  opsUrl: string;
  /** An API key the stack accepts (API_KEYS); send it as x-api-key. */
  apiKey: string;
  prefix: string;
  schema: string;
  env: Record<string, string>;
  ports: Record<AppName, number> & { rpc: number; gatewayOps: number };
  query: Awaited<ReturnType<typeof schemaForTest>>['query'];
  redis: Awaited<ReturnType<typeof redisForTest>>['redis'];
  /**
   * Starts one app (again) and waits until it is ready (or only live, with `until: 'live'`). With
   * `instance`, a further process of that app under that name, on a port of its own (a second
   * inference pool, say); stopApp and process take the instance name.
   */
  startApp(app: AppName, env?: Record<string, string>, options?: { until?: 'ready' | 'live'; instance?: string }): Promise<ChildProcess>;
  /** Sends a signal to a running app (or named instance) and waits for it to exit. */
  stopApp(app: AppName | string, signal?: NodeJS.Signals): Promise<void>;
  process(app: AppName | string): ChildProcess | undefined;
  stop(): Promise<void>;
}

/** Starts the built apps for a test file. Build them first (`nx run-many -t build`; the e2e target depends on it). */
export async function startStack(options: StackOptions): Promise<Stack> {
  const redisTest = await redisForTest(options.label, options.redisUrl);
  const schemaTest = await schemaForTest(options.label, options.databaseUrl);
  const [gateway, inference, results, rpc, gatewayOps] = (await freePorts(5)) as [number, number, number, number, number];
  const ports = { 'api-gateway': gateway, inference, results, rpc, gatewayOps };
  const apiKey = `test-${randomBytes(16).toString('hex')}`;
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    API_KEYS: apiKey,
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'info',
    REDIS_URL: redisTest.url,
    QUEUE_PREFIX: redisTest.prefix,
    DATABASE_URL: schemaTest.url,
    DATABASE_SCHEMA: schemaTest.schema,
    MODEL_REPOSITORY: testModelRepository(),
    GATEWAY_HOST: '127.0.0.1',
    GATEWAY_PORT: String(ports['api-gateway']),
    GATEWAY_METRICS_HOST: '127.0.0.1',
    GATEWAY_METRICS_PORT: String(ports.gatewayOps),
    INFERENCE_HOST: '127.0.0.1',
    INFERENCE_PORT: String(ports.inference),
    RESULTS_HOST: '127.0.0.1',
    RESULTS_PORT: String(ports.results),
    RESULTS_RPC_HOST: '127.0.0.1',
    RESULTS_RPC_PORT: String(ports.rpc),
    ...options.env,
  };
  const logDir = join(workspaceRoot(), 'test-artifacts', 'logs', schemaTest.schema);
  mkdirSync(logDir, { recursive: true });
  const processes = new Map<string, ChildProcess>();
  const instancePorts = new Map<string, number>();
  const logs: WriteStream[] = [];
  const PORT_VARIABLE: Record<AppName, string> = { 'api-gateway': 'GATEWAY_PORT', inference: 'INFERENCE_PORT', results: 'RESULTS_PORT' };

  const startApp = async (app: AppName, extra: Record<string, string> = {}, startOptions: { until?: 'ready' | 'live'; instance?: string } = {}): Promise<ChildProcess> => {
    const name = startOptions.instance ?? app;
    let port = ports[app];
    if (name !== app) {
      port = instancePorts.get(name) ?? (await freePort());
      instancePorts.set(name, port);
      extra = { ...extra, [PORT_VARIABLE[app]]: String(port) };
    }
    const log = createWriteStream(join(logDir, `${name}.log`), { flags: 'a' });
    logs.push(log);
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), join(workspaceRoot(), 'dist', 'apps', app, 'main.js')], {
      cwd: workspaceRoot(),
      env: { PATH: process.env['PATH'] ?? '', ...env, ...extra },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    processes.set(name, child);
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code, signal) => reject(new Error(`${name} exited (${code ?? signal}) before it was ready; see ${logDir}/${name}.log`))),
    );
    exited.catch(() => undefined);
    await Promise.race([waitForHttp(`http://127.0.0.1:${port}/health/${startOptions.until ?? 'ready'}`), exited]);
    return child;
  };

  const stopApp = async (app: AppName | string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    const child = processes.get(app);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const escalate = setTimeout(() => child.kill('SIGKILL'), 15000);
    await exited;
    clearTimeout(escalate);
  };

  const stack: Stack = {
    baseUrl: `http://127.0.0.1:${ports['api-gateway']}`,
    opsUrl: `http://127.0.0.1:${ports.gatewayOps}`,
    apiKey,
    prefix: redisTest.prefix,
    schema: schemaTest.schema,
    env,
    ports,
    query: schemaTest.query,
    redis: redisTest.redis,
    startApp,
    stopApp,
    process: (app) => processes.get(app),
    stop: async () => {
      // Gateway first (stop taking work), then workers (every instance), then results.
      const rank = (name: string) => (name === 'api-gateway' ? 0 : name === 'results' ? 2 : 1);
      for (const name of [...processes.keys()].sort((a, b) => rank(a) - rank(b))) await stopApp(name);
      for (const log of logs) log.end();
      await redisTest.cleanup();
      await schemaTest.cleanup();
    },
  };
  try {
    // results first: it creates the schema the gateway's readiness asks about
    const order: AppName[] = ['results', 'inference', 'api-gateway'];
    for (const app of order.filter((a) => (options.start ?? order).includes(a))) await startApp(app);
  } catch (error) {
    await stack.stop().catch(() => undefined);
    throw error;
  }
  return stack;
}

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { freePort } from './stack';

/**
 * Throw-away Redis and Postgres servers for fault tests: started on free ports in temporary
 * folders, stopped and restarted by the test, removed at the end. The shared services on the
 * default ports are never touched.
 */

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (error) {
      last = error;
    }
    await sleep(50);
  }
  throw new Error(`${what} not up after ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export interface RedisServer {
  url: string;
  port: number;
  dir: string;
  /** The running server's process id. */
  pid(): number | undefined;
  /** Stops the server (SIGTERM: Redis writes its AOF and exits; SIGKILL: a crash). */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and folder (it reloads its AOF). */
  start(): Promise<void>;
  /** Stops it and removes its folder. */
  destroy(): Promise<void>;
}

/** Starts a private redis-server (AOF on, fsync every second, noeviction, like docker-compose.yml) on a free port. */
export async function startRedisServer(options: { appendfsync?: 'always' | 'everysec'; maxmemory?: string } = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'argus-redis-'));
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', options.appendfsync ?? 'everysec', '--save', '', '--maxmemory-policy', 'noeviction', ...(options.maxmemory ? ['--maxmemory', options.maxmemory] : [])],
      { stdio: 'ignore' },
    );
    await waitUntil(
      `redis-server on ${port}`,
      async () => {
        const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        probe.on('error', () => undefined); // refused until the server is up: connect() rejects, that is enough
        try {
          await probe.connect();
          return (await probe.ping()) === 'PONG';
        } finally {
          probe.disconnect();
        }
      },
      10000,
    );
  };
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (!child) return;
    const done = exited(child);
    child.kill(signal);
    await done;
    child = undefined;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    pid: () => child?.pid,
    stop,
    start,
    destroy: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface PostgresServer {
  /** URL of its `postgres` database (user postgres, trust). */
  url: string;
  port: number;
  /** Stops the server (pg_ctl -m fast: sessions are terminated, as in a failover). */
  stop(): Promise<void>;
  /**
   * Freezes every process of the server (SIGSTOP): connections stay open and the kernel still
   * accepts new ones, but nothing answers, as with a hung host or a blackholed link.
   */
  pause(): void;
  /** Lets a paused server go on (SIGCONT) where it stopped. */
  resume(): void;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

const PG_BIN = process.env['PG_BIN'] ?? '/usr/lib/postgresql/15/bin';

/**
 * Creates and starts a private Postgres cluster (initdb, trust auth) on a free port. Postgres
 * refuses to run as root: when the tests do, the cluster runs as the `postgres` user.
 */
export async function startPostgresServer(): Promise<PostgresServer> {
  if (!existsSync(join(PG_BIN, 'initdb'))) throw new Error(`initdb not found in ${PG_BIN} (set PG_BIN)`);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'argus-pg-'));
  const data = join(dir, 'data');
  const asUser: { uid?: number; gid?: number } = {};
  if (process.getuid?.() === 0) {
    asUser.uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    asUser.gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, asUser.uid, asUser.gid);
  }
  const run = (tool: string, args: string[]) => execFileSync(join(PG_BIN, tool), args, { ...asUser, stdio: 'pipe', cwd: dir });
  run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const start = async () => {
    run('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, '-w', 'start']);
    await waitUntil(
      `postgres on ${port}`,
      async () => {
        const client = new Client({ connectionString: url, connectionTimeoutMillis: 1000 });
        await client.connect();
        await client.end();
        return true;
      },
      15000,
    );
  };
  const stop = async () => {
    run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
  };
  // The postmaster first (so that it forks nothing new), then every process it started.
  const processes = () => {
    const postmaster = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return [postmaster, ...childrenOf(postmaster)];
  };
  await start();
  let stopped = false;
  let paused = false;
  const resume = () => {
    for (const pid of processes().reverse()) process.kill(pid, 'SIGCONT');
    paused = false;
  };
  return {
    url,
    port,
    pause: () => {
      for (const pid of processes()) process.kill(pid, 'SIGSTOP');
      paused = true;
    },
    resume,
    start: async () => {
      await start();
      stopped = false;
    },
    stop: async () => {
      await stop();
      stopped = true;
    },
    destroy: async () => {
      // A frozen server cannot shut down: let it go on first.
      if (paused) resume();
      if (!stopped) await stop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The ids of the processes whose parent is `pid` (from /proc). */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return children;
}

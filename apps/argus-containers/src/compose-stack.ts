import { execFile } from 'node:child_process';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end; never throws on a non-zero exit (the caller decides). */
export function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { env: options.env, cwd: options.cwd, timeout: options.timeoutMs ?? 600_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** What failed, with the end of its output: enough to read a CI log without rerunning. */
export function failure(what: string, result: Run): Error {
  const tail = (text: string) => text.trim().split('\n').slice(-40).join('\n');
  return new Error(`${what} exited ${result.code}\n--- stdout\n${tail(result.stdout)}\n--- stderr\n${tail(result.stderr)}`);
}

/**
 * One compose project, driven through the `docker compose` CLI exactly as a user would: the
 * repository's compose file plus test overrides, the variables a user would put in .env.
 */
export class ComposeStack {
  constructor(
    readonly project: string,
    private readonly files: string[],
    private readonly env: Record<string, string>,
    private readonly cwd: string,
  ) {}

  /** `docker compose -p <project> -f ... <args>`. */
  compose(args: string[], timeoutMs?: number): Promise<Run> {
    const files = this.files.flatMap((f) => ['-f', f]);
    return run('docker', ['compose', '-p', this.project, ...files, ...args], { env: { ...process.env, ...this.env }, cwd: this.cwd, timeoutMs });
  }

  /** Like {@link compose}, throwing with the output when it fails. */
  async must(args: string[], timeoutMs?: number): Promise<string> {
    const result = await this.compose(args, timeoutMs);
    if (result.code !== 0) throw failure(`docker compose ${args.join(' ')}`, result);
    return result.stdout;
  }

  /** Runs a command in a running service container (no TTY). */
  exec(service: string, command: string[]): Promise<string> {
    return this.must(['exec', '-T', service, ...command]);
  }

  /** One SQL statement in the stack's Postgres, rows as lines of `|`-separated fields. */
  async sql(statement: string): Promise<string[]> {
    const out = await this.exec('postgres', ['psql', '-U', 'argus', '-d', 'argus', '-At', '-c', statement]);
    return out.split('\n').filter((line) => line.length > 0);
  }

  /** The host address of a published container port: `127.0.0.1:49153`. */
  async published(service: string, port: number): Promise<string> {
    const out = (await this.must(['port', service, String(port)])).trim();
    const hostPort = out.split(':').pop();
    if (!hostPort) throw new Error(`${service}:${port} is not published (${out})`);
    return `127.0.0.1:${hostPort}`;
  }

  /** The ids of a service's containers. */
  async containers(service: string): Promise<string[]> {
    return (await this.must(['ps', '-q', service])).split('\n').filter((id) => id.length > 0);
  }

  /** `docker <args>` (kill, start, inspect), throwing with the output when it fails. */
  async docker(args: string[]): Promise<string> {
    const result = await run('docker', args);
    if (result.code !== 0) throw failure(`docker ${args.join(' ')}`, result);
    return result.stdout;
  }
}

/** Polls `probe` until it returns a value (not undefined), or throws after `timeoutMs` with `what`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, intervalMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`${what}: not after ${timeoutMs} ms${last ? ` (last error: ${last instanceof Error ? last.message : String(last)})` : ''}`);
}

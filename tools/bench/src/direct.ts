import { freePort, waitForHttp, workspaceRoot } from '@argus/testing';
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { type BenchContext, measurePoint, noteBoxes } from './context';
import { type DirectModel, formatDirectModels } from './direct-args';
import { HttpClient } from './http-client';
import type { BestConfigs, Point } from './report';

/** Settings the direct server gets when the bare grid did not run: one thread, two images in flight. */
export const DIRECT_FALLBACK = { threads: 1, inflight: 2, modelThreads: 1 } as const;

/** The direct server's settings per model: the bare grid's best without batching. */
export function directModels(models: readonly string[], best: readonly BestConfigs[]): DirectModel[] {
  return models.map((name) => {
    const b = best.find((x) => x.model === name)?.unbatched;
    return {
      name,
      threads: b?.threads ?? DIRECT_FALLBACK.threads,
      inflight: b?.inflight ?? DIRECT_FALLBACK.inflight,
      modelThreads: b?.modelThreads ?? DIRECT_FALLBACK.modelThreads,
    };
  });
}

/**
 * The direct server (tools/bench/src/direct-server.ts) as a child process, loaded by the same
 * closed-loop clients as the stack, with the same multipart uploads.
 */
export class DirectRunner {
  private constructor(
    private readonly ctx: BenchContext,
    private readonly child: ChildProcess,
    private readonly log: WriteStream,
    private readonly client: HttpClient,
    readonly settings: DirectModel[],
  ) {}

  static async start(ctx: BenchContext, best: readonly BestConfigs[]): Promise<DirectRunner> {
    const settings = directModels(ctx.options.models, best);
    const port = await freePort();
    const logDir = join(workspaceRoot(), 'test-artifacts', 'logs');
    mkdirSync(logDir, { recursive: true });
    const logPath = join(logDir, `bench-direct-server-${Date.now()}.log`);
    const log = createWriteStream(logPath);
    // Inherits this process's environment (SWC_NODE_PROJECT from the npm script) for the TS loader.
    const child = spawn(
      process.execPath,
      ['-r', '@swc-node/register', join(__dirname, 'direct-server.ts'), '--port', String(port), '--repository', ctx.repository, '--models', formatDirectModels(settings)],
      { cwd: workspaceRoot(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    const runner = new DirectRunner(ctx, child, log, new HttpClient(`http://127.0.0.1:${port}`), settings);
    try {
      await Promise.race([
        waitForHttp(`http://127.0.0.1:${port}/health`, 120000),
        new Promise<never>((_, reject) => child.once('exit', () => reject(new Error(`the direct server exited before it was ready; see ${logPath}`)))),
      ]);
    } catch (e) {
      await runner.stop();
      throw e;
    }
    ctx.monitor.track('direct', child.pid);
    ctx.progress(`direct server ready (${formatDirectModels(settings)}; name:threads:inflight:modelThreads)`);
    return runner;
  }

  async point(model: string, concurrency: number): Promise<Point> {
    const { ctx, client } = this;
    const s = this.settings.find((x) => x.name === model);
    const { point } = await measurePoint(ctx, { mode: 'direct', model, concurrency, config: { threads: s?.threads ?? 0, inflight: s?.inflight ?? 0 } }, async () => {
      const photo = ctx.photos.next();
      const res = await client.upload('/v1/detect', { model }, photo.bytes);
      if (res.status !== 200) return { ok: false, status: String(res.status) };
      const body = JSON.parse(res.body.toString('utf8')) as { detections?: unknown[] };
      noteBoxes(ctx, 'direct', model, photo.index, body.detections?.length ?? -1);
      return { ok: true, status: '200' };
    });
    return point;
  }

  async stop(): Promise<void> {
    this.client.close();
    this.ctx.monitor.untrack('direct');
    const child = this.child;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const escalate = setTimeout(() => child.kill('SIGKILL'), 10000);
      await exited;
      clearTimeout(escalate);
    }
    this.log.end();
  }
}

import { buildConfig } from '@argus/config';
import { testImage, testModelRepository, workspaceRoot } from '@argus/testing';
import { primaryEntry, scanModelRepository } from '@argus/vision';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, relative, resolve } from 'node:path';
import sharp from 'sharp';
import { ArgError, type BenchOptions, NOOP_MODEL, type Phase, parseBenchArgs, USAGE } from './args';
import { BareRunner, runGrid } from './bare';
import { renderChart } from './chart';
import { BUSY_OTHER_CORES, type BenchContext, quietly, waitForQuiet } from './context';
import { DirectRunner } from './direct';
import { prepareNoop } from './noop-model';
import { PHOTO_MIX, PhotoMix } from './photos';
import { ProcessMonitor } from './procs';
import type { BenchReport, BestConfigs, GridCell, Point } from './report';
import { StackRunner } from './stack';
import { formatSummary } from './summary';
import { computeRatios, evaluateTargets } from './targets';

// npm run bench -- [--quick] [--models a,b] [--concurrency 1,4,16,64] [--duration s] [--only ...]
// The bare pipeline, a direct server and the whole stack on the same photos and models, side by
// side in one run; see docs/benchmark.md. Figures only: nothing here is asserted.

const STACK_PHASES: Phase[] = ['stack', 'cache', 'priority', 'batching'];
const APPS = ['api-gateway', 'inference', 'results'];
/** Cores busy (all processes) in the second before the run above which the machine is not quiet. */
const BUSY_AT_START = 0.3;

const started = Date.now();
const progress = (line: string): void => {
  process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
};

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: workspaceRoot(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

function newestSource(dir: string): number {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Builds the three apps (nx; cached when nothing changed) unless told not to, since the stack runs
 * dist/. Without a build, says so loudly when a source the apps bundle is newer than dist/.
 */
function checkBuild(options: BenchOptions, warnings: string[]): void {
  const root = workspaceRoot();
  const build = 'npx nx run-many -t build -p api-gateway inference results';
  if (options.build) {
    progress(`building the stack: ${build}`);
    execFileSync('npx', ['nx', 'run-many', '-t', 'build', '-p', ...APPS, '--outputStyle=static'], { cwd: root, stdio: ['ignore', 2, 2] });
  }
  const mains = APPS.map((a) => join(root, 'dist', 'apps', a, 'main.js'));
  const missing = mains.filter((m) => !existsSync(m));
  if (missing.length > 0) throw new Error(`the stack is not built (${missing.map((m) => relative(root, m)).join(', ')}): run ${build}`);
  // After a build, webpack leaves unchanged bundles untouched (old mtime), so the check below only
  // means something without one.
  if (options.build) return;
  const built = Math.min(...mains.map((m) => statSync(m).mtimeMs));
  const libs = readdirSync(join(root, 'libs')).filter((l) => l !== 'testing');
  const sources = [...APPS.map((a) => join(root, 'apps', a, 'src')), ...libs.map((l) => join(root, 'libs', l, 'src'))];
  const newest = Math.max(...sources.map(newestSource));
  if (newest > built) {
    const msg = `--no-build, and sources are newer than dist/ (newest ${new Date(newest).toISOString()}, build ${new Date(built).toISOString()}): the stack may run old code`;
    warnings.push(msg);
    progress(`WARNING: ${msg}`);
  }
}

/** Cores in use on the whole machine over one second. */
async function machineBusy(): Promise<number> {
  const monitor = new ProcessMonitor();
  const a = monitor.snapshot();
  await new Promise((r) => setTimeout(r, 1000));
  return monitor.cores(a, monitor.snapshot())['machine'] ?? NaN;
}

/** Per model, photos where the modes found different numbers of boxes. */
function boxMismatches(boxes: BenchContext['boxes']): string[] {
  const out: string[] = [];
  const models = new Set(Object.values(boxes).flatMap((m) => Object.keys(m)));
  for (const model of models) {
    const byMode = Object.entries(boxes).flatMap(([mode, m]) => (m[model] ? [[mode, m[model]] as const] : []));
    const photos = Math.max(0, ...byMode.map(([, list]) => list.length));
    for (let i = 0; i < photos; i++) {
      const counts = byMode.filter(([, list]) => list[i] !== undefined).map(([mode, list]) => `${mode} ${list[i]}`);
      if (new Set(counts.map((c) => c.split(' ')[1])).size > 1) out.push(`${model}, ${PHOTO_MIX[i] ?? i}: boxes differ between modes (${counts.join(', ')})`);
    }
  }
  return out;
}

async function main(): Promise<number> {
  let options: BenchOptions;
  try {
    const parsed = parseBenchArgs(process.argv.slice(2));
    if (parsed.kind === 'help') {
      process.stdout.write(`${parsed.text}\n`);
      return 0;
    }
    options = parsed.options;
  } catch (e) {
    if (e instanceof ArgError) {
      process.stderr.write(`bench: ${e.message}\n\n${USAGE}\n`);
      return 2;
    }
    throw e;
  }
  const startedAt = new Date(started);
  const loadAvgStart = loadavg();
  const warnings: string[] = [];
  // The load average lags (a run that just ended still shows); one second of /proc/stat does not.
  const busyAtStart = await machineBusy();
  if (busyAtStart > BUSY_AT_START) {
    const msg = `the machine was busy when the run started (${busyAtStart.toFixed(2)} cores in use, load average ${loadAvgStart.map((v) => v.toFixed(2)).join(' ')}): figures may be low; see "other" per point`;
    warnings.push(msg);
    progress(`WARNING: ${msg}`);
  }
  const wantStack = options.only.some((p) => STACK_PHASES.includes(p));
  if (wantStack) checkBuild(options, warnings);

  // --noop: a repository of the no-op model alone; the stack's apps are started with it too.
  const noop = options.noop ? await prepareNoop(NOOP_MODEL) : undefined;
  if (noop) process.env['MODEL_REPOSITORY'] = noop.repository;
  const repository = testModelRepository();
  const entries = (await scanModelRepository(repository)).map(primaryEntry);
  const unknown = options.models.filter((m) => !entries.some((e) => e.name === m));
  if (unknown.length > 0) throw new Error(`no model ${unknown.join(', ')} in ${repository} (found ${entries.map((e) => e.name).join(', ')})`);
  const targetModel = options.models.includes('yolox-nano') ? 'yolox-nano' : (options.models[0] as string);
  const defaults = buildConfig({});
  const monitor = new ProcessMonitor();
  monitor.track('bench', process.pid);
  monitor.trackCommand('redis', 'redis-server');
  monitor.trackCommand('postgres', 'postgres');
  const ctx: BenchContext = {
    options,
    photos: new PhotoMix(
      noop ? [noop.photo] : PHOTO_MIX.map((name) => testImage(name)),
      randomBytes(4).toString('hex'),
    ),
    monitor,
    repository,
    entries,
    defaults,
    limits: { maxBytes: defaults.limits.maxImageBytes, maxPixels: defaults.limits.maxImagePixels },
    warnings,
    boxes: {},
    progress,
    quiet: { budgetMs: (options.quick ? 40 : 150) * 1000, spentMs: 0 },
  };
  progress(`models ${options.models.join(', ')}; concurrency ${options.concurrency.join(', ')}; ${options.durationS} s per point after >= ${options.warmupS} s warm-up; phases ${options.only.join(', ')}`);

  let grid: GridCell[] = [];
  let best: BestConfigs[] = [];
  const points: Point[] = [];
  const peakRss: BenchReport['peakRss'] = {};
  const report: Partial<BenchReport> = {};
  const want = (p: Phase) => options.only.includes(p);

  const measured = (measure: () => Promise<Point>): Promise<Point> => quietly(ctx, measure, (p) => p.cpu['other'] ?? 0);

  if (want('bare')) {
    monitor.resetPeaks();
    ({ grid, best } = await runGrid(ctx));
    peakRss['grid'] = { bench: monitor.peakRss()['bench'] ?? 0 };
  }
  // Everything that serves is started first, then the modes are measured point by point side by
  // side (bare, direct, stack at each concurrency), so a change in the machine's background load
  // hits all three alike instead of one mode's whole series.
  const bare = want('bare') ? new BareRunner(ctx, best) : undefined;
  let direct: DirectRunner | undefined;
  let stack: StackRunner | undefined;
  // Ctrl-C: stop what was started, so no server lingers and the stack's Redis prefix and schema go.
  const interrupted = (): void => {
    progress('interrupted: stopping the direct server and the stack ...');
    void Promise.allSettled([direct?.stop(), stack?.stop()]).then(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    if (want('direct')) direct = await DirectRunner.start(ctx, best);
    if (wantStack) {
      stack = await StackRunner.start(ctx);
      report.stackConfig = stack.describe;
    }
    monitor.resetPeaks();
    for (const model of options.models) {
      for (const concurrency of options.concurrency) {
        if (bare) points.push(await measured(() => bare.point(model, concurrency)));
        if (direct) points.push(await measured(() => (direct as DirectRunner).point(model, concurrency)));
        if (stack && want('stack')) points.push(await measured(() => (stack as StackRunner).point(model, concurrency)));
      }
    }
    peakRss['points'] = monitor.peakRss();
    await bare?.close();
    await direct?.stop();
    direct = undefined;
    if (stack) {
      if (want('cache')) {
        await waitForQuiet(ctx);
        report.cache = await stack.cache(targetModel);
      }
      if (want('priority')) {
        await waitForQuiet(ctx);
        report.priority = await stack.priority(targetModel);
      }
      if (want('cache') || want('priority')) peakRss['cache+priority'] = monitor.peakRss();
      if (want('batching')) {
        await waitForQuiet(ctx);
        const batching = await stack.batching(targetModel);
        if (batching) report.batching = batching;
      }
    }
  } finally {
    await direct?.stop();
    await stack?.stop();
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    await noop?.remove();
  }

  const busy = [
    ...grid.filter((g) => g.otherCores > BUSY_OTHER_CORES).map((g) => ({ label: `grid ${g.model} ${g.inflight}/${g.threads}/${g.batching ? 'on' : 'off'}`, other: g.otherCores })),
    ...points.filter((p) => (p.cpu['other'] ?? 0) > BUSY_OTHER_CORES).map((p) => ({ label: `${p.mode} ${p.model} c=${p.concurrency}`, other: p.cpu['other'] ?? 0 })),
  ];
  if (busy.length > 0) {
    warnings.push(
      `CPU outside the measured processes above ${BUSY_OTHER_CORES} cores during ${busy.length} measurement(s) (${busy.map((b) => `${b.label}: ${b.other.toFixed(2)}`).join('; ')}): another session was using the machine; their figures are low`,
    );
  }
  warnings.push(...boxMismatches(ctx.boxes));

  const loadAvgEnd = loadavg();
  const busyAtEnd = await machineBusy();
  const ort = (await import('onnxruntime-node')).env.versions.common ?? 'unknown';
  const dirty = git(['status', '--porcelain', '--', 'apps', 'libs', 'tools']).length > 0;
  const full: BenchReport = {
    meta: {
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      elapsedS: (Date.now() - started) / 1000,
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
      sharp: `${sharp.versions.sharp ?? '?'} (libvips ${sharp.versions.vips})`,
      sharpConcurrency: sharp.concurrency(),
      onnxruntime: ort,
      loadAvgStart,
      loadAvgEnd,
      busyCoresStart: busyAtStart,
      busyCoresEnd: busyAtEnd,
      git: `${git(['rev-parse', '--short', 'HEAD']) || 'unknown'}${dirty ? '+uncommitted' : ''}`,
      targetModel,
      quietWaitS: ctx.quiet.spentMs / 1000,
      argv: process.argv.slice(2),
    },
    options: { ...options },
    photos: ctx.photos.names,
    ...(report.stackConfig ? { stackConfig: report.stackConfig } : {}),
    grid,
    best,
    points,
    ...(report.cache ? { cache: report.cache } : {}),
    ...(report.priority ? { priority: report.priority } : {}),
    ...(report.batching ? { batching: report.batching } : {}),
    peakRss,
    boxes: ctx.boxes,
    ratios: computeRatios(points),
    targets: evaluateTargets({
      model: targetModel,
      points,
      ...(report.priority ? { priority: report.priority } : {}),
      ...(report.batching ? { batching: report.batching } : {}),
      ...(report.cache ? { cache: report.cache } : {}),
    }),
    warnings,
  };

  const outDir = resolve(workspaceRoot(), options.outDir);
  mkdirSync(outDir, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const base = `bench-${stamp}${options.quick ? '-quick' : ''}`;
  const json = `${JSON.stringify(full, null, 2)}\n`;
  const svg = renderChart(points, `Argus benchmark ${startedAt.toISOString().slice(0, 16)}Z: bare pipeline, direct server, whole stack`);
  for (const name of [base, 'latest']) {
    writeFileSync(join(outDir, `${name}.json`), json);
    writeFileSync(join(outDir, `${name}.svg`), svg);
  }
  process.stdout.write(`${formatSummary(full)}\n\nwrote ${relative(workspaceRoot(), join(outDir, base))}.json and .svg (also latest.json, latest.svg)\n`);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);

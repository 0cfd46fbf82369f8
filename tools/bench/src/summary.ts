import { type BenchReport, MODES, type Point } from './report';
import { findPoint } from './targets';

const f = (v: number | undefined, digits = 1, width = 7): string => (v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(digits)).padStart(width);
const ratio = (v: number | undefined): string => (v === undefined ? 'n/a' : `${(v * 100).toFixed(0)}%`).padStart(10);
const mib = (bytes: number): string => `${(bytes / 1048576).toFixed(0)}`;

/** CPU columns worth showing: the processes that were tracked in any point, in a fixed order. */
const CPU_ORDER = ['bench', 'direct', 'gateway', 'inference', 'results', 'redis', 'postgres', 'other'];

function cpuRow(p: Point, columns: string[]): string {
  return columns.map((c) => f(p.cpu[c], 2, Math.max(6, c.length))).join(' ');
}

/** The printed summary of a run: grid, the three modes side by side with ratios, CPU, phases, targets. */
export function formatSummary(r: BenchReport): string {
  const out: string[] = [];
  const m = r.meta;
  out.push(`Argus benchmark ${m.startedAt} (${m.elapsedS.toFixed(0)} s), git ${m.git}`);
  out.push(`node ${m.node}, ${m.cpus} CPUs (${m.cpuModel}), sharp ${m.sharp} (concurrency ${m.sharpConcurrency}), onnxruntime-node ${m.onnxruntime}`);
  out.push(
    `machine before the run: ${m.busyCoresStart.toFixed(2)} cores busy, load average ${m.loadAvgStart.map((v) => v.toFixed(2)).join(' ')}; after: ${m.busyCoresEnd.toFixed(2)} cores busy, load average ${m.loadAvgEnd.map((v) => v.toFixed(2)).join(' ')}`,
  );
  if (m.quietWaitS > 0) out.push(`${m.quietWaitS.toFixed(0)} s spent on other sessions' load (waiting for quiet, measuring again)`);
  out.push(`photos, round robin, every request's bytes made unique (JPEG comment) so nothing is a cache hit: ${r.photos.join(', ')}`);
  if (r.stackConfig) out.push(`stack: ${Object.entries(r.stackConfig).map(([k, v]) => `${k}=${String(v)}`).join(' ')}`);

  for (const model of new Set(r.grid.map((g) => g.model))) {
    out.push('');
    out.push(`bare pipeline grid, ${model} (closed loop, clients = images in flight):`);
    out.push('  inflight threads model-threads batching    img/s     p50     p99   cores  other  batch  | final round: img/s     p50');
    for (const g of r.grid.filter((c) => c.model === model)) {
      out.push(
        `  ${String(g.inflight).padEnd(8)} ${String(g.threads).padEnd(7)} ${String(g.modelThreads).padEnd(13)} ${(g.batching ? 'on' : 'off').padEnd(8)} ${f(g.imagesPerSec, 1, 8)} ${f(g.latency.p50)} ${f(g.latency.p99)} ${f(g.cpuCores, 2)} ${f(g.otherCores, 2, 6)} ${g.meanBatch !== undefined ? g.meanBatch.toFixed(2).padStart(6) : '      '}  |${g.final ? `${f(g.final.imagesPerSec, 1, 19)} ${f(g.final.latency.p50)}` : ''}`,
      );
    }
    const b = r.best.find((x) => x.model === model);
    if (b) {
      const d = (g: typeof b.throughput) => `inflight ${g.inflight}, threads ${g.threads}, model threads ${g.modelThreads}, batching ${g.batching ? 'on' : 'off'}`;
      const rate = (g: typeof b.throughput) => (g.final ?? g).imagesPerSec;
      const p50 = (g: typeof b.throughput) => (g.final ?? g).latency.p50;
      out.push(`  best throughput: ${d(b.throughput)} (${rate(b.throughput).toFixed(1)} img/s) -> bare points at c > 1`);
      out.push(`  best latency: ${d(b.latency)} (p50 ${p50(b.latency).toFixed(1)} ms) -> bare point at c = 1`);
      out.push(`  best without batching: ${d(b.unbatched)} -> the direct server`);
    }
  }

  const models = [...new Set(r.points.map((p) => p.model))];
  for (const model of models) {
    const cs = [...new Set(r.points.filter((p) => p.model === model).map((p) => p.concurrency))].sort((a, b) => a - b);
    out.push('');
    out.push(`${model}: images/s and latency (ms) per concurrency`);
    out.push(`  ${'c'.padStart(3)} ${MODES.map((mode) => `${mode.padEnd(6)}  img/s     p50     p95     p99`).join('  | ')}  | stack/bare stack/direct`);
    for (const c of cs) {
      const cells = MODES.map((mode) => {
        const p = findPoint(r.points, mode, model, c);
        return `${''.padEnd(6)} ${f(p?.imagesPerSec)} ${f(p?.latency.p50)} ${f(p?.latency.p95)} ${f(p?.latency.p99)}`;
      });
      const ra = r.ratios.find((x) => x.model === model && x.concurrency === c);
      out.push(`  ${String(c).padStart(3)} ${cells.join('  | ')}  | ${ratio(ra?.stackOverBare)} ${ratio(ra?.stackOverDirect)}`);
    }
    const pts = r.points.filter((p) => p.model === model);
    const columns = CPU_ORDER.filter((c) => pts.some((p) => p.cpu[c] !== undefined));
    out.push(`  CPU in cores during each window (machine has ${m.cpus}; "other" = busy time none of these explain):`);
    out.push(`  mode    c   ${columns.map((c) => c.padStart(Math.max(6, c.length))).join(' ')}  machine  ms CPU/image`);
    for (const p of pts) {
      const total = columns.filter((c) => c !== 'other').reduce((s, c) => s + (p.cpu[c] ?? 0), 0);
      const perImage = p.imagesPerSec > 0 ? (total * 1000) / p.imagesPerSec : NaN;
      out.push(`  ${p.mode.padEnd(6)} ${String(p.concurrency).padStart(3)}  ${cpuRow(p, columns)} ${f(p.cpu['machine'], 2, 8)} ${f(perImage, 1, 12)}`);
    }
    const rows = pts.filter((p) => p.persisted);
    if (rows.length > 0) {
      out.push('  stack rows in Postgres: answered in window / rows found / completed rows persisted by the window end; row time minus answer time (negative: the row was there first):');
      for (const p of rows) {
        const s = p.persisted;
        if (!s) continue;
        out.push(`    c=${String(p.concurrency).padEnd(3)} ${s.answered} / ${s.rowsFound} / ${s.byWindowEnd}   lag p50 ${s.lagP50Ms.toFixed(0)} ms, p95 ${s.lagP95Ms.toFixed(0)} ms`);
        const st = s.stages;
        const order = ['queueWait', 'fetch', 'preprocess', 'inference', 'postprocess', 'total'];
        const keys = [...order.filter((k) => st[k] !== undefined), ...Object.keys(st).filter((k) => !order.includes(k) && k !== 'batchSize')];
        if (keys.length > 0) {
          out.push(`          stage p50 ms: ${keys.map((k) => `${k} ${(st[k] ?? NaN).toFixed(1)}`).join(', ')}${st['batchSize'] !== undefined ? `; mean batch ${st['batchSize'].toFixed(2)}` : ''}`);
        }
      }
    }
  }

  if (r.cache) {
    const c = r.cache;
    out.push('');
    out.push(`cache (${c.model}, the same photo again): first ${c.firstMs.toFixed(1)} ms, then ${c.hits} hits: p50 ${c.latency.p50.toFixed(2)} ms, p95 ${c.latency.p95.toFixed(2)}, p99 ${c.latency.p99.toFixed(2)}${c.misses ? `; ${c.misses} repeats were not hits` : ''}`);
  }
  if (r.priority) {
    const p = r.priority;
    out.push('');
    out.push(`priority (${p.model}): idle high-priority p50 ${p.idle.p50.toFixed(1)} ms (p99 ${p.idle.p99.toFixed(1)}); ${p.backlogQueued} low jobs queued, then:`);
    out.push(`  probes ${p.probes.map((x) => `${x.ms.toFixed(0)} ms (${x.waiting} waiting)`).join(', ')}`);
    out.push(`  one batch of ${p.batchSize} through the bare pipeline ${p.oneBatchMs.toFixed(1)} ms -> limit ${p.limitMs.toFixed(1)} ms`);
  }
  if (r.batching) {
    const b = r.batching;
    const pt = (x: Point | undefined) => (x ? `${x.imagesPerSec.toFixed(1)} img/s, p50 ${x.latency.p50.toFixed(2)} ms, p99 ${x.latency.p99.toFixed(1)} ms` : 'n/a');
    out.push('');
    out.push(`batching (${b.model}, stack, MAX_BATCH_SIZE 8 vs 1):`);
    out.push(`  lone request  on: ${pt(b.on.lone)}   off: ${pt(b.off.lone)}   cost ${(b.loneCost * 100).toFixed(1)}%`);
    out.push(`  16 clients    on: ${pt(b.on.loaded)}   off: ${pt(b.off.loaded)}`);
  }
  const phases = Object.entries(r.peakRss);
  if (phases.length > 0) {
    out.push('');
    out.push('peak RSS in MiB (grid: the bare pipeline alone; redis/postgres: their largest process, shared with other users):');
    for (const [phase, procs] of phases) out.push(`  ${phase.padEnd(15)} ${Object.entries(procs).map(([k, v]) => `${k} ${mib(v)}`).join(', ')}`);
  }
  out.push('');
  out.push(`targets (measured with ${r.meta.targetModel}):`);
  for (const t of r.targets) out.push(`  ${t.verdict.padEnd(4)} ${t.id.padEnd(12)} ${t.detail}`);
  if (r.warnings.length > 0) {
    out.push('');
    out.push('WARNINGS:');
    for (const w of r.warnings) out.push(`  ! ${w}`);
  }
  return out.join('\n');
}

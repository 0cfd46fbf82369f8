/**
 * Does retention slow the persistence INSERTs down? Inserts rows at a steady rate (as persist
 * batches do) for a while with nothing else going on, then again while retention deletes a large
 * backlog of old rows a slice at a time, and prints the INSERT latencies of both runs. A script
 * that prints figures (docs/operations.md), never a test.
 *
 *   npm run bench:retention -- [--database-url URL] [--backlog 300000] [--seconds 20] [--rate 50] [--rows 8] [--slice 2000] [--pause 200]
 */
import { buildConfig } from '@argus/config';
import { testRequestRecord } from '@argus/testing';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { DataSource } from 'typeorm';
import { createDataSource, ensureDatabase, migrate } from '../database/database';
import { DetectionEntity } from '../database/detection.entity';
import { toRow } from '../persist/rows';
import { RETENTION_PAUSE_MS, RETENTION_SLICE_ROWS, RetentionService } from './retention.service';

const { values } = parseArgs({
  options: {
    'database-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
    backlog: { type: 'string', default: '300000' },
    seconds: { type: 'string', default: '20' },
    rate: { type: 'string', default: '50' },
    rows: { type: 'string', default: '8' },
    slice: { type: 'string', default: String(RETENTION_SLICE_ROWS) },
    pause: { type: 'string', default: String(RETENTION_PAUSE_MS) },
  },
});
const backlog = Number(values.backlog);
const seconds = Number(values.seconds);
const rate = Number(values.rate);
const rowsPerInsert = Number(values.rows);
const sliceRows = Number(values.slice);
const pauseMs = Number(values.pause);

const result = {
  model: { name: 'yolox-nano', version: 'eddfef33eb8c' },
  width: 810,
  height: 1080,
  detections: Array.from({ length: 5 }, (_, i) => ({ label: 'person', classId: 0, score: 0.9 - i / 10, box: { x1: 10 * i, y1: 20 * i, x2: 100 + i, y2: 200 + i } })),
  timings: { queueWait: 2, fetch: 1, preprocess: 12, inference: 7, postprocess: 1, total: 25, batchSize: 1 },
  provider: 'cpu',
  finishedAt: new Date().toISOString(),
};

/** One persistence-sized INSERT, as PersistService writes it. */
async function insertBatch(dataSource: DataSource): Promise<number> {
  const rows = Array.from({ length: rowsPerInsert }, () => {
    const record = testRequestRecord(randomBytes(32).toString('hex'), { clientId: 'cfg:load' });
    return toRow(record, { workKey: record.workKey, jobId: record.id, attempts: 1, cached: false, outcome: { ok: true, result } });
  });
  const started = performance.now();
  await dataSource.createQueryBuilder().insert().into(DetectionEntity).values(rows).orIgnore().returning(['id']).execute();
  return performance.now() - started;
}

/** INSERTs at `rate` per second for `seconds`, open loop (one every 1/rate s whether or not the last has finished). */
async function steadyInserts(dataSource: DataSource): Promise<number[]> {
  const latencies: number[] = [];
  const pending: Promise<void>[] = [];
  const start = performance.now();
  for (let i = 0; i < seconds * rate; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    pending.push(insertBatch(dataSource).then((ms) => void latencies.push(ms)));
  }
  await Promise.all(pending);
  return latencies;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

function describe(label: string, latencies: number[]): string {
  const sorted = [...latencies].sort((a, b) => a - b);
  const f = (v: number) => v.toFixed(1).padStart(7);
  return `${label.padEnd(28)} n=${String(sorted.length).padStart(5)}  p50 ${f(percentile(sorted, 50))} ms  p90 ${f(percentile(sorted, 90))} ms  p99 ${f(percentile(sorted, 99))} ms  max ${f(sorted[sorted.length - 1] ?? NaN)} ms`;
}

async function main(): Promise<void> {
  const schema = `retention_load_${Date.now().toString(36)}`;
  const config = buildConfig({ DATABASE_URL: values['database-url'], DATABASE_SCHEMA: schema, RESULTS_RETENTION_DAYS: '30' });
  await ensureDatabase(config);
  const dataSource = await createDataSource(config).initialize();
  try {
    await migrate(dataSource);
    const table = `"${schema}"."detections"`;
    console.log(`schema ${schema}: ${backlog} rows 40 days old (the backlog), then INSERTs of ${rowsPerInsert} rows at ${rate}/s for ${seconds} s, twice`);
    // The backlog, copied from one real row (same size: params, five boxes, timings).
    await insertBatch(dataSource);
    await dataSource.query(
      `INSERT INTO ${table} SELECT gen_random_uuid(), work_key, job_id, status, priority, model_name, model_version, image_sha256, image_width, image_height, image_bytes,
         params, detections, detection_count, timings, cached, provider, error_code, error_message, attempts, correlation_id, client_id,
         now() - interval '40 days' - (g * interval '1 ms'), now() - interval '40 days', now()
       FROM ${table}, generate_series(1, $1) AS g LIMIT $1`,
      [backlog],
    );
    await dataSource.query(`ANALYZE ${table}`);

    // Warm the pool and the caches first, so the first measured run is not the cold one.
    for (let i = 0; i < rate; i++) await insertBatch(dataSource);
    const alone = await steadyInserts(dataSource);

    const retention = new RetentionService(dataSource, config);
    let deleted = 0;
    let slices = 0;
    let sweeping = true;
    const sweepStarted = performance.now();
    const sweep = (async () => {
      while (sweeping) {
        const slice = await retention.slice(new Date(), sliceRows);
        deleted += slice.detections;
        slices += 1;
        if (!slice.more) break;
        await sleep(pauseMs);
      }
    })();
    const during = await steadyInserts(dataSource);
    const sweepMs = performance.now() - sweepStarted;
    sweeping = false;
    await sweep;

    console.log(describe('INSERT, nothing else', alone));
    console.log(describe('INSERT, retention sweeping', during));
    console.log(`retention: ${deleted} rows in ${slices} slices of at most ${sliceRows} during the second run (${Math.round(deleted / (sweepMs / 1000))} rows/s, ${pauseMs} ms between slices)`);
  } finally {
    await dataSource.query(`DROP SCHEMA "${schema}" CASCADE`).catch(() => undefined);
    await dataSource.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

import { buildConfig } from '@argus/config';
import { schemaForTest, testDatabaseUrl, testRequestRecord } from '@argus/testing';
import type { DataSource } from 'typeorm';
import { createDataSource, migrate } from '../database/database';
import { DetectionEntity } from '../database/detection.entity';
import { toRow } from '../persist/rows';
import { RetentionService } from './retention.service';

describe(RetentionService.name, () => {
  let dataSource: DataSource;
  let cleanup: () => Promise<void>;
  const now = new Date('2026-06-01T00:00:00Z');
  const daysAgo = (days: number) => new Date(now.getTime() - days * 86_400_000).toISOString();

  beforeAll(async () => {
    const t = await schemaForTest('retention');
    cleanup = t.cleanup;
    dataSource = await createDataSource(buildConfig({ DATABASE_URL: testDatabaseUrl(), DATABASE_SCHEMA: t.schema })).initialize();
    await migrate(dataSource);
  });
  afterAll(async () => {
    await dataSource?.destroy();
    await cleanup();
  });

  async function insert(ages: number[]): Promise<void> {
    const rows = ages.map((age) => toRow(testRequestRecord('e'.repeat(64), { createdAt: daysAgo(age) }), { canceled: true, at: daysAgo(age) }));
    await dataSource.createQueryBuilder().insert().into(DetectionEntity).values(rows).execute();
  }

  const ages = async () =>
    ((await dataSource.getRepository(DetectionEntity).find({ select: { createdAt: true } })) as DetectionEntity[]).map((r) => Math.round((now.getTime() - r.createdAt.getTime()) / 86_400_000)).sort((a, b) => a - b);

  it('deletes only rows older than the retention period, oldest first, a slice at a time', async () => {
    await insert([45, 40, 31, 29, 1, 0]);
    const retention = new RetentionService(dataSource, { resultsRetentionDays: 30 });
    expect(await retention.slice(now, 2)).toMatchObject({ detections: 2, more: true, cutoff: daysAgo(30) });
    expect(await ages()).toEqual([0, 1, 29, 31]);
    expect(await retention.slice(now, 2)).toMatchObject({ detections: 1, more: false });
    expect(await ages()).toEqual([0, 1, 29]);
    expect(await retention.slice(now, 2)).toMatchObject({ detections: 0, more: false });
  });

  it('keeps everything with RESULTS_RETENTION_DAYS=0', async () => {
    await insert([400]);
    const keep = new RetentionService(dataSource, { resultsRetentionDays: 0 });
    expect(keep.enabled).toBe(false);
    expect(await keep.slice(now)).toEqual({ detections: 0, batches: 0, more: false, cutoff: null });
    expect(await ages()).toContain(400);
  });
});

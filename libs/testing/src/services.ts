import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { Pool } from 'pg';

/** The Redis tests use (REDIS_URL, else the local one). */
export function testRedisUrl(): string {
  return process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
}

/** The Postgres database tests use (TEST_DATABASE_URL, else the local `test` database). */
export function testDatabaseUrl(): string {
  return process.env['TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
}

/** A fresh, unique name for a test's Redis prefix or Postgres schema. */
export function uniqueName(label: string): string {
  return `t_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

/** Deletes every Redis key under a prefix (a test's cleanup). */
export async function deleteRedisPrefix(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

/** A Redis connection for a test plus a fresh prefix, and a cleanup that removes both. */
export async function redisForTest(label: string, url = testRedisUrl()): Promise<{ redis: Redis; prefix: string; url: string; cleanup: () => Promise<void> }> {
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  redis.on('error', () => undefined); // fault tests stop Redis on purpose; the client reconnects by itself
  const prefix = uniqueName(label);
  return {
    redis,
    prefix,
    url,
    cleanup: async () => {
      await deleteRedisPrefix(redis, prefix);
      redis.disconnect();
    },
  };
}

/**
 * A fresh Postgres schema in the test database, and a cleanup that drops it. Queries go through a
 * small pool, so a test that stops its Postgres can query again once it is back.
 */
export async function schemaForTest(label: string, url = testDatabaseUrl()): Promise<{ url: string; schema: string; query: Pool['query']; cleanup: () => Promise<void> }> {
  const schema = uniqueName(label);
  const pool = new Pool({ connectionString: url, max: 2 });
  pool.on('error', () => undefined); // an idle client whose server went away; the next query reconnects
  await pool.query(`CREATE SCHEMA "${schema}"`);
  return {
    url,
    schema,
    query: pool.query.bind(pool) as Pool['query'],
    cleanup: async () => {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.end();
    },
  };
}

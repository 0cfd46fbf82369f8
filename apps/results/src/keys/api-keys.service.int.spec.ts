import { buildConfig, hashApiKey, isManagedApiKey } from '@argus/config';
import { schemaForTest, testDatabaseUrl } from '@argus/testing';
import type { DataSource } from 'typeorm';
import { createDataSource, migrate } from '../database/database';
import { ApiKeysService } from './api-keys.service';
import { runKeysCli } from './keys-cli';

describe(ApiKeysService.name, () => {
  let dataSource: DataSource;
  let keys: ApiKeysService;
  let cleanup: () => Promise<void>;
  let config: ReturnType<typeof buildConfig>;

  beforeAll(async () => {
    const t = await schemaForTest('apikeys');
    cleanup = t.cleanup;
    config = buildConfig({ DATABASE_URL: testDatabaseUrl(), DATABASE_SCHEMA: t.schema });
    dataSource = await createDataSource(config).initialize();
    await migrate(dataSource);
    keys = new ApiKeysService(dataSource);
  });
  afterAll(async () => {
    await dataSource?.destroy();
    await cleanup();
  });

  it('creates a key shown once, stores only its hash, and verifies it by hash', async () => {
    const { key, summary } = await keys.create({ name: 'acme batch', priorities: ['low', 'normal'], rateLimit: { perSecond: 5, burst: 10 } });
    expect(isManagedApiKey(key)).toBe(true);
    const rows = (await dataSource.query(`SELECT * FROM "${config.database.schema}".api_keys`)) as Record<string, unknown>[];
    expect(JSON.stringify(rows)).not.toContain(key.slice(20));
    expect(await keys.verify(hashApiKey(key))).toEqual({
      clientId: `key:${summary.id}`,
      name: 'acme batch',
      priorities: ['normal', 'low'],
      rateLimit: { perSecond: 5, burst: 10 },
      scopes: [],
    });
    expect(await keys.verify(hashApiKey(`${key}x`))).toBeNull();
    expect(await keys.verify('not-a-hash')).toBeNull();
  });

  it('stops verifying a revoked key and lists it only with --all', async () => {
    const { key, summary } = await keys.create({ name: 'temp' });
    expect((await keys.verify(hashApiKey(key)))?.priorities).toEqual(['high', 'normal', 'low']);
    expect(await keys.revoke(summary.id)).toBe(true);
    expect(await keys.revoke(summary.id)).toBe(false);
    expect(await keys.verify(hashApiKey(key))).toBeNull();
    expect((await keys.list()).map((k) => k.id)).not.toContain(summary.id);
    expect((await keys.list(true)).find((k) => k.id === summary.id)?.revokedAt).not.toBeNull();
  });

  it('lists the active keys for the gateway by id, with only the start of each hash', async () => {
    const { key, summary } = await keys.create({ name: 'listed' });
    const gone = await keys.create({ name: 'gone' });
    await keys.revoke(gone.summary.id);
    const { keys: directory } = await keys.directory();
    expect(directory[summary.id]).toBe(hashApiKey(key).slice(0, 16));
    expect(directory).not.toHaveProperty(gone.summary.id);
    expect(Object.values(directory).every((prefix) => /^[0-9a-f]{16}$/.test(prefix))).toBe(true);
  });

  it('gives a key the admin scope only when asked', async () => {
    const { key } = await keys.create({ name: 'auditor', scopes: ['admin'] });
    expect((await keys.verify(hashApiKey(key)))?.scopes).toEqual(['admin']);
    await expect(keys.create({ name: 'x', scopes: ['root' as 'admin'] })).rejects.toThrow(/unknown scope "root"/);
  });

  it('refuses bad names, priorities and limits', async () => {
    await expect(keys.create({ name: '' })).rejects.toThrow(/name/);
    await expect(keys.create({ name: 'x', priorities: [] })).rejects.toThrow(/priorities/);
    await expect(keys.create({ name: 'x', rateLimit: { perSecond: 1, burst: 0 } })).rejects.toThrow(/rate limit/);
  });

  describe('keys CLI', () => {
    const run = async (...argv: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await runKeysCli(argv, config, { out: (l) => out.push(l), err: (l) => err.push(l), stdin: async () => 'some-long-api-key-text\n' });
      return { code, out, err };
    };

    it('creates (key alone on stdout), lists without key text, revokes', async () => {
      const created = await run('create', '--name', 'cli', '--priorities', 'normal,low');
      expect(created.code).toBe(0);
      expect(created.out).toHaveLength(1);
      const key = created.out[0] ?? '';
      expect(isManagedApiKey(key)).toBe(true);
      const id = key.slice(6, 18);
      const listed = await run('list', '--json');
      const list = JSON.parse(listed.out[0] ?? '[]') as { id: string; priorities: string[] }[];
      expect(list.find((k) => k.id === id)?.priorities).toEqual(['normal', 'low']);
      expect(listed.out.join('')).not.toContain(key);
      const admin = await run('create', '--name', 'ops', '--scopes', 'admin', '--json');
      expect(JSON.parse(admin.out[0] ?? '{}')).toMatchObject({ name: 'ops', scopes: ['admin'] });
      expect((await run('revoke', id)).code).toBe(0);
      expect((await run('revoke', id)).code).toBe(1);
    });

    it('hashes a key from stdin for API_KEYS', async () => {
      expect(await run('hash')).toMatchObject({ code: 0, out: [`sha256:${hashApiKey('some-long-api-key-text')}`] });
    });

    it('answers usage errors with exit code 2', async () => {
      expect((await run()).code).toBe(2);
      expect((await run('frobnicate')).code).toBe(2);
      expect((await run('create')).code).toBe(2);
      expect((await run('create', '--name', 'x', '--priorities', 'urgent')).code).toBe(2);
      expect((await run('create', '--name', 'x', '--rate', '5')).code).toBe(2);
      expect((await run('create', '--name', 'x', '--scopes', 'root')).code).toBe(2);
    });
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { autoModelThreads, buildConfig, knownEnvVars } from './config';
import { ARGUS_VERSION } from './version';

describe('buildConfig', () => {
  it('applies documented defaults that work on a developer machine', () => {
    const config = buildConfig({});
    expect(config.redis.url).toBe('redis://127.0.0.1:6379');
    expect(config.database.url).toBe('postgres://postgres@127.0.0.1:5432/argus');
    expect(config.models.default).toBe('yolox-nano');
    expect(config.models.executionProviders).toEqual(['cpu']);
    expect(config.models.batchMaxWaitMs).toBe(0);
    expect(config.log.format).toBe('pretty');
  });

  it('parses lists, numbers and booleans', () => {
    const config = buildConfig({
      EXECUTION_PROVIDERS: 'cuda, cpu',
      MAX_BATCH_SIZE: '16',
      ALLOW_CPU_FALLBACK: 'yes',
      NODE_ENV: 'production',
    });
    expect(config.models.executionProviders).toEqual(['cuda', 'cpu']);
    expect(config.models.maxBatchSize).toBe(16);
    expect(config.models.allowCpuFallback).toBe(true);
    expect(config.log.format).toBe('json');
  });

  it('rejects a bad value with the variable named', () => {
    expect(() => buildConfig({ MAX_BATCH_SIZE: '0' })).toThrow(/MAX_BATCH_SIZE/);
    expect(() => buildConfig({ QUEUE_PREFIX: 'has space' })).toThrow(/QUEUE_PREFIX/);
  });

  it('refuses to start with a short Bull Board password, naming the variable and the minimum', () => {
    expect(() => buildConfig({ ADMIN_USER: 'ops', ADMIN_PASSWORD: 'hunter2hunt' })).toThrow(/ADMIN_PASSWORD: must be at least 12 characters/);
    expect(buildConfig({ ADMIN_USER: 'ops', ADMIN_PASSWORD: 'a-good-12-ch' }).admin).toEqual({ user: 'ops', password: 'a-good-12-ch' });
    expect(buildConfig({}).admin).toBeNull();
  });

  it('lists every variable it reads', () => {
    expect(knownEnvVars()).toEqual(expect.arrayContaining(['REDIS_URL', 'DATABASE_URL', 'MODEL_REPOSITORY']));
  });
});

describe(autoModelThreads.name, () => {
  it('runs one model thread on a GPU, and on a CPU one per core up to four', () => {
    expect(autoModelThreads(['cuda', 'cpu'], 16)).toBe(1);
    expect([1, 2, 3, 8].map((cpus) => autoModelThreads(['cpu'], cpus))).toEqual([1, 2, 3, 4]);
    expect(autoModelThreads([], 2)).toBe(2);
  });

  it('is what MODEL_THREADS=0 gives, and a set value wins', () => {
    expect(buildConfig({ EXECUTION_PROVIDERS: 'cuda' }).models.modelThreads).toBe(1);
    expect(buildConfig({ MODEL_THREADS: '3', EXECUTION_PROVIDERS: 'cuda' }).models.modelThreads).toBe(3);
    expect(buildConfig({}).models.intraOpThreads).toBe(1);
    expect(buildConfig({ EXECUTION_PROVIDERS: 'tensorrt,cuda,cpu' }).models.modelThreads).toBe(1);
  });
});

describe('model serving settings', () => {
  it('polls the repository every 10 s by default (0: off), lets jobs for unavailable models wait, and runs on CUDA device 0', () => {
    expect(buildConfig({}).models).toMatchObject({ pollSeconds: 10, unavailableJobs: 'wait', cuda: { deviceId: 0 } });
    expect(buildConfig({ MODEL_POLL_SECONDS: '0', UNAVAILABLE_MODEL_JOBS: 'fail', CUDA_DEVICE_ID: '3' }).models).toMatchObject({
      pollSeconds: 0,
      unavailableJobs: 'fail',
      cuda: { deviceId: 3 },
    });
    expect(() => buildConfig({ UNAVAILABLE_MODEL_JOBS: 'drop' })).toThrow(/UNAVAILABLE_MODEL_JOBS/);
    expect(() => buildConfig({ CUDA_DEVICE_ID: '-1' })).toThrow(/CUDA_DEVICE_ID/);
  });
});

describe('tracing and build info', () => {
  it('traces only when the OTEL_* variables ask for it', () => {
    expect(buildConfig({}).tracing.enabled).toBe(false);
    expect(buildConfig({ OTEL_TRACES_EXPORTER: 'otlp' }).tracing.enabled).toBe(true);
    expect(buildConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).tracing.enabled).toBe(true);
    expect(buildConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_EXPORTER: 'none' }).tracing.enabled).toBe(false);
    expect(buildConfig({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_SDK_DISABLED: 'true' }).tracing.enabled).toBe(false);
  });

  it("reports the source tree's version, which is package.json's", () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string };
    expect(ARGUS_VERSION).toBe(pkg.version);
    expect(buildConfig({}).build).toEqual({ version: pkg.version, commit: 'unknown' });
  });
});

describe('TRUST_PROXY', () => {
  it('takes none by default, a hop count, or a list of proxies', () => {
    expect(buildConfig({}).gateway.trustProxy).toBe(false);
    expect(buildConfig({ TRUST_PROXY: '1' }).gateway.trustProxy).toBe(1);
    expect(buildConfig({ TRUST_PROXY: '10.0.0.0/8, 192.168.1.7' }).gateway.trustProxy).toEqual(['10.0.0.0/8', '192.168.1.7']);
  });
});

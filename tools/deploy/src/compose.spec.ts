import {
  containerEnvironment,
  type Env,
  interpolate,
  interpolateDocument,
  loadCompose,
  servicesOf,
  validateCompose,
} from './support/compose';
import { parseDockerfile } from './support/dockerfile';
import { parseEnvFile } from './support/dotenv';
import { appEnvVars, configFrom } from './support/env-schema';
import { asArray, asRecord, parseYaml, readRepoFile } from './support/repo';
import { memoryBytes } from './support/sizes';

const APPS = ['api-gateway', 'inference', 'results'] as const;
const BASE = 'docker-compose.yml';
const GPU = 'docker-compose.gpu.yml';
/** What each app may hold besides configuration: inference parses untrusted images, so only Redis. */
const CREDENTIALS_ALLOWED: Record<string, string[]> = {
  'api-gateway': ['REDIS_URL', 'API_KEYS', 'ADMIN_PASSWORD'],
  results: ['REDIS_URL', 'DATABASE_URL'],
  inference: ['REDIS_URL'],
};

/** The rendered services, as `docker compose config` would show them for this environment. */
function rendered(files: string[], env: Env): Record<string, Record<string, unknown>> {
  return servicesOf(interpolateDocument(loadCompose(...files), env) as Record<string, unknown>);
}

describe('docker compose', () => {
  describe('schema', () => {
    it.each([BASE, GPU])('%s validates against the Compose specification', (file) => {
      expect(validateCompose(parseYaml(readRepoFile(file)))).toEqual([]);
    });

    it('validates the merged CPU + GPU configuration after interpolation', () => {
      expect(validateCompose(interpolateDocument(loadCompose(BASE, GPU), {}))).toEqual([]);
    });

    it('rejects what the schema forbids (the validator is live)', () => {
      expect(validateCompose({ services: { a: { image: 'x', contianer_name: 'typo' } } })).not.toEqual([]);
      expect(validateCompose({ services: { a: { image: 'x', healthcheck: { interval: 'soon' } } } })).not.toEqual([]);
      expect(
        validateCompose({ services: { a: { image: 'x', depends_on: { b: { condition: 'service_ready' } } } } }),
      ).not.toEqual([]);
    });
  });

  describe('interpolation (as docker compose does it)', () => {
    it('handles defaults, required values and escapes', () => {
      expect(interpolate('${A:-x}', {})).toBe('x');
      expect(interpolate('${A:-x}', { A: '' })).toBe('x');
      expect(interpolate('${A-x}', { A: '' })).toBe('');
      expect(interpolate('${A:-${B:-y}}', {})).toBe('y');
      expect(interpolate('$$HOME $A', { A: 'a' })).toBe('$HOME a');
      expect(() => interpolate('${A:?set A}', {})).toThrow(/set A/);
    });
  });

  const services = rendered([BASE], {});

  it('runs redis, postgres, model-init, the key bootstrap and the three apps by default', () => {
    const always = Object.entries(services)
      .filter(([, s]) => asArray(s.profiles).length === 0)
      .map(([name]) => name)
      .sort();
    expect(always).toEqual(['api-gateway', 'api-key-init', 'inference', 'model-init', 'postgres', 'redis', 'results']);
  });

  /** The services built as this app (APP build argument), e.g. every inference pool. */
  const builtAs = (app: string): [string, Record<string, unknown>][] =>
    Object.entries(services).filter(([, s]) => asRecord(asRecord(s.build)?.args)?.APP === app && asRecord(s.build)?.target === undefined);
  const pools = builtAs('inference');

  it('publishes one host port, the gateway on 3000, and nothing else outside a profile', () => {
    const published = Object.entries(services)
      .filter(([, s]) => asArray(s.profiles).length === 0)
      .flatMap(([name, s]) => asArray(s.ports).map((p) => `${name} ${String(p)}`));
    expect(published).toEqual(['api-gateway 3000:3000']);
  });

  it('lets `--scale inference=N` work: no container_name anywhere, no host port on inference', () => {
    expect(Object.entries(services).filter(([, s]) => 'container_name' in s).map(([n]) => n)).toEqual([]);
    expect(services.inference?.ports).toBeUndefined();
  });

  it('orders start-up by health: datastores healthy, model fetched, results before the gateway', () => {
    const dependsOn = (name: string): Record<string, string> =>
      Object.fromEntries(
        Object.entries(asRecord(services[name]?.depends_on) ?? {}).map(([dep, v]) => [dep, String(asRecord(v)?.condition)]),
      );
    expect(dependsOn('results')).toEqual({ redis: 'service_healthy', postgres: 'service_healthy' });
    expect(dependsOn('inference')).toEqual({ redis: 'service_healthy', 'model-init': 'service_completed_successfully' });
    expect(dependsOn('api-gateway')).toEqual({ redis: 'service_healthy', results: 'service_healthy' });
  });

  it('gives every service that others wait for a health check (in compose or in its image)', () => {
    const dockerfile = parseDockerfile(readRepoFile('docker/Dockerfile'));
    const imageHasHealthcheck = (service: Record<string, unknown>): boolean => {
      const build = asRecord(service.build);
      if (!build) return false;
      const target = typeof build.target === 'string' ? build.target : dockerfile.stages[dockerfile.stages.length - 1]?.name;
      const stage = dockerfile.stages.find((s) => s.name === target);
      return stage?.instructions.some((i) => i.keyword === 'HEALTHCHECK') ?? false;
    };
    const awaited = new Set(
      Object.values(services).flatMap((s) =>
        Object.entries(asRecord(s.depends_on) ?? {})
          .filter(([, v]) => asRecord(v)?.condition === 'service_healthy')
          .map(([dep]) => dep),
      ),
    );
    for (const name of awaited) {
      const service = services[name] ?? {};
      expect({ name, healthy: 'healthcheck' in service || imageHasHealthcheck(service) }).toEqual({ name, healthy: true });
    }
  });

  it('runs Redis with AOF persistence and noeviction, on a named volume', () => {
    const command = asArray(services.redis?.command).map(String).join(' ');
    expect(command).toMatch(/--appendonly yes/);
    expect(command).toMatch(/--appendfsync everysec/);
    expect(command).toMatch(/--maxmemory-policy noeviction/);
    expect(asArray(services.redis?.volumes)).toContain('redis-data:/data');
  });

  it('gives Redis a memory limit and a maxmemory at about 75% of it, also when both are changed', () => {
    for (const env of [{}, { ARGUS_REDIS_MEMORY: '4g', ARGUS_REDIS_MAXMEMORY: '3gb' }]) {
      const redis = rendered([BASE], env).redis ?? {};
      const args = asArray(redis.command).map(String);
      const maxmemory = memoryBytes(args[args.indexOf('--maxmemory') + 1] ?? '', 'redis');
      const limit = memoryBytes(String(redis.mem_limit), 'docker');
      expect(maxmemory / limit).toBeGreaterThanOrEqual(0.6);
      expect(maxmemory / limit).toBeLessThanOrEqual(0.8);
    }
  });

  it('keeps Postgres data in a named volume', () => {
    expect(asArray(services.postgres?.volumes)).toContain('postgres-data:/var/lib/postgresql/data');
    const volumes = Object.keys(asRecord(loadCompose(BASE).volumes) ?? {});
    expect(volumes).toEqual(expect.arrayContaining(['redis-data', 'postgres-data', 'models']));
  });

  it('fills the model volume from ./models as it is, plus verified MODEL_SOURCES, and mounts it read-only in every pool', () => {
    const init = services['model-init'] ?? {};
    const env = containerEnvironment(init, {});
    expect(asArray(init.volumes)).toEqual(['models:/models', `./models:${env.MODEL_SEED_DIR}:ro`]);
    expect(env.MODEL_DIR).toBe('/models');
    const sources = { MODEL_SOURCES: 'm=https://example.com/m.onnx#abc' };
    expect(containerEnvironment(rendered([BASE], sources)['model-init'] ?? {}, sources).MODEL_SOURCES).toBe(sources.MODEL_SOURCES);
    // Another folder of models, e.g. the test suite's, without editing the file.
    const elsewhere = servicesOf(interpolateDocument(loadCompose(BASE), { ARGUS_MODELS_DIR: '/srv/models' }) as Record<string, unknown>);
    expect(asArray(elsewhere['model-init']?.volumes)).toContain(`/srv/models:${env.MODEL_SEED_DIR}:ro`);
    expect(pools.length).toBeGreaterThanOrEqual(2);
    for (const [name, pool] of pools) {
      expect({ name, volumes: pool.volumes }).toEqual({ name, volumes: ['models:/models:ro'] });
      expect(containerEnvironment(pool, {}).MODEL_REPOSITORY).toBe('/models');
    }
  });

  it('runs one inference pool per model: the default model without a profile, every other pool under its own', () => {
    const served = pools.map(([name, pool]) => ({ name, models: configFrom(containerEnvironment(pool, {})).models.only, profiles: asArray(pool.profiles) }));
    const defaultModel = configFrom(containerEnvironment(services['api-gateway'] ?? {}, {})).models.default;
    expect(served.find((p) => p.name === 'inference')).toEqual({ name: 'inference', models: [defaultModel], profiles: [] });
    for (const pool of served.filter((p) => p.name !== 'inference')) {
      expect(pool.models).toHaveLength(1);
      expect(pool.profiles).toHaveLength(1);
    }
    // DEFAULT_MODEL moves the default pool with it.
    const moved = servicesOf(interpolateDocument(loadCompose(BASE), { DEFAULT_MODEL: 'other' }) as Record<string, unknown>);
    expect(configFrom(containerEnvironment(moved.inference ?? {}, { DEFAULT_MODEL: 'other' })).models.only).toEqual(['other']);
  });

  it('gives each app only its own credentials: none reach the inference pools', () => {
    const dotenv: Env = { API_KEYS: 'k'.repeat(20), ADMIN_PASSWORD: 'p', DATABASE_URL: 'postgres://u:p@db/argus', REDIS_URL: 'redis://:p@r:6379' };
    for (const app of APPS) {
      for (const [name, service] of builtAs(app)) {
        const held = Object.keys(containerEnvironment(service, dotenv)).filter((v) => v in dotenv);
        // The key bootstrap reads API_KEYS only to see whether any is configured.
        const allowed = [...(CREDENTIALS_ALLOWED[app] ?? []), ...(name === 'api-key-init' ? ['API_KEYS'] : [])];
        expect({ name, beyond: held.filter((v) => !allowed.includes(v)) }).toEqual({ name, beyond: [] });
      }
    }
    for (const [name, pool] of pools) {
      expect({ name, held: Object.keys(containerEnvironment(pool, dotenv)).filter((v) => v in dotenv) }).toEqual({ name, held: ['REDIS_URL'] });
    }
  });

  it('bootstraps one admin API key at the first start without keys, from the results image after results is healthy', () => {
    const init = services['api-key-init'] ?? {};
    expect(init.image).toBe(services.results?.image);
    expect(init.build).toEqual(services.results?.build);
    expect(init.command).toEqual(['sh', '/usr/local/lib/argus/api-key-init.sh']);
    expect(init.restart).toBe('no');
    expect(asRecord(asRecord(init.depends_on)?.results)?.condition).toBe('service_healthy');
    const env = containerEnvironment(init, { API_KEYS: 'a-key-of-sixteen-or-more' });
    expect(env.API_KEYS).toBe('a-key-of-sixteen-or-more');
    expect(configFrom(env).database.url).toBe(configFrom(containerEnvironment(services.results ?? {}, {})).database.url);
    const runtime = parseDockerfile(readRepoFile('docker/Dockerfile')).stages.find((st) => st.name === 'runtime');
    expect(runtime?.instructions.map((i) => i.args)).toContain('docker/api-key-init.sh /usr/local/lib/argus/api-key-init.sh');
  });

  it('builds every image from docker/Dockerfile targets that exist, one image name per build', () => {
    const stages = new Set(parseDockerfile(readRepoFile('docker/Dockerfile')).stages.map((s) => s.name));
    for (const files of [[BASE], [BASE, GPU]]) {
      const byImage = new Map<string, unknown>();
      for (const [name, service] of Object.entries(rendered(files, {}))) {
        const build = asRecord(service.build);
        if (!build) continue;
        expect({ name, dockerfile: build.dockerfile }).toEqual({ name, dockerfile: 'docker/Dockerfile' });
        if (typeof build.target === 'string') expect(stages.has(build.target)).toBe(true);
        const app = asRecord(build.args)?.APP;
        if (build.target === undefined) expect(APPS).toContain(app);
        // Services sharing an image build it the same way (compose builds it once per service).
        const image = String(service.image);
        expect(image).toMatch(new RegExp(`/${String(build.target === undefined ? app : build.target)}:`));
        if (byImage.has(image)) expect({ image, build }).toEqual({ image, build: byImage.get(image) });
        byImage.set(image, build);
      }
    }
  });

  it('hardens the Argus containers: read-only root, no capabilities, no privilege escalation', () => {
    for (const name of [...APPS, 'model-init', 'api-key-init', ...pools.map(([n]) => n)]) {
      const s = services[name] ?? {};
      expect({ name, read_only: s.read_only, cap_drop: s.cap_drop, security_opt: s.security_opt, privileged: s.privileged }).toEqual({
        name,
        read_only: true,
        cap_drop: ['ALL'],
        security_opt: ['no-new-privileges:true'],
        privileged: undefined,
      });
    }
  });

  describe('configuration reaching the apps', () => {
    it('starts every app with a configuration its schema accepts, with no .env at all', () => {
      for (const app of APPS) {
        expect(() => configFrom(containerEnvironment(services[app] ?? {}, {}))).not.toThrow();
      }
    });

    it('wires the apps to the compose services, not to 127.0.0.1', () => {
      const gateway = configFrom(containerEnvironment(services['api-gateway'] ?? {}, {}));
      const results = configFrom(containerEnvironment(services.results ?? {}, {}));
      const inference = configFrom(containerEnvironment(services.inference ?? {}, {}));
      expect(gateway.redis.url).toBe('redis://redis:6379');
      expect(gateway.results.rpcHost).toBe('results');
      expect(results.results.rpcHost).toBe('0.0.0.0');
      expect(results.database.url).toMatch(/@postgres:5432\//);
      expect(inference.models.repository).toBe('/models');
      expect([gateway.production, results.production, inference.production]).toEqual([true, true, true]);
    });

    it('passes every app variable set in .env through to the containers', () => {
      // A .env with every documented line uncommented, values as .env.example shows them.
      const dotenv: Env = {};
      for (const entry of parseEnvFile(readRepoFile('.env.example'))) dotenv[entry.name] = entry.value;
      const fixedByCompose = new Set<string>();
      const reached = new Set<string>();
      for (const app of APPS) {
        const env = containerEnvironment(services[app] ?? {}, dotenv);
        expect(() => configFrom(env)).not.toThrow();
        const without = containerEnvironment(services[app] ?? {}, {});
        for (const [name, value] of Object.entries(env)) {
          if (dotenv[name] !== undefined && value === dotenv[name]) reached.add(name);
          if (without[name] !== undefined && value === without[name] && value !== dotenv[name]) fixedByCompose.add(name);
        }
      }
      const lost = appEnvVars().filter((name) => !reached.has(name) && !fixedByCompose.has(name));
      expect(lost).toEqual([]);
    });
  });

  describe('GPU override', () => {
    const gpu = rendered([BASE, GPU], {});
    const gpuPools = Object.entries(gpu).filter(([, s]) => asRecord(s.build)?.target === 'inference-cuda');

    it('moves every inference pool to the CUDA image', () => {
      expect(gpuPools.map(([name]) => name).sort()).toEqual(pools.map(([name]) => name).sort());
    });

    it('pins each pool to one GPU by index through a device reservation', () => {
      for (const [name, pool] of gpuPools) {
        const devices = asArray(asRecord(asRecord(asRecord(pool.deploy)?.resources)?.reservations)?.devices).map(asRecord);
        expect({ name, devices }).toEqual({ name, devices: [{ driver: 'nvidia', device_ids: ['0'], capabilities: ['gpu'] }] });
      }
      const moved = rendered([BASE, GPU], { ARGUS_INFERENCE_GPU: '3' }).inference ?? {};
      expect(asRecord(asArray(asRecord(asRecord(asRecord(moved.deploy)?.resources)?.reservations)?.devices)[0])?.device_ids).toEqual(['3']);
    });

    it('asks for CUDA without a silent CPU fallback, one model thread per GPU, still one model per pool', () => {
      for (const [name, pool] of gpuPools) {
        expect(String(pool.image)).toMatch(/inference-cuda:/);
        const config = configFrom(containerEnvironment(pool, {}));
        expect({ name, providers: config.models.executionProviders[0], fallback: config.models.allowCpuFallback, threads: config.models.modelThreads }).toEqual({ name, providers: 'cuda', fallback: false, threads: 1 });
        expect(config.models.only).toEqual(configFrom(containerEnvironment(services[name] ?? {}, {})).models.only);
      }
    });

    it('leaves the other services and the scaling rules as they are', () => {
      for (const [, pool] of gpuPools) expect(pool.ports).toBeUndefined();
      expect(gpu['api-gateway']).toEqual(services['api-gateway']);
      expect(gpu.results).toEqual(services.results);
    });
  });

  describe('monitoring profile', () => {
    const prometheus = asRecord(parseYaml(readRepoFile('monitoring/prometheus.yml')));
    const jobs = asArray(prometheus?.scrape_configs).map(asRecord);
    const targets = (job: string): string[] => {
      const config = jobs.find((j) => j?.job_name === job);
      const statics = asArray(config?.static_configs).flatMap((s) => asArray(asRecord(s)?.targets).map(String));
      const dns = asArray(config?.dns_sd_configs).flatMap((d) => asArray(asRecord(d)?.names).map((n) => `${String(n)}:${String(asRecord(d)?.port)}`));
      return [...statics, ...dns];
    };
    const env = (name: string): Record<string, string> => containerEnvironment(services[name] ?? {}, {});

    it('scrapes every app on its metrics port (the gateway on its operations port) by DNS, so replicas are found', () => {
      expect(targets('api-gateway')).toEqual([`api-gateway:${env('api-gateway').GATEWAY_METRICS_PORT}`]);
      expect(targets('results')).toEqual([`results:${env('results').RESULTS_PORT}`]);
      expect(targets('inference').sort()).toEqual(pools.map(([name]) => `${name}:${env(name).INFERENCE_PORT}`).sort());
      for (const job of jobs) expect({ job: job?.job_name, statics: job?.static_configs }).toEqual({ job: job?.job_name, statics: undefined });
      expect(targets('api-gateway')).not.toContain(`api-gateway:${env('api-gateway').GATEWAY_PORT}`);
    });

    it('runs Prometheus and Grafana only in the monitoring profile, on loopback ports', () => {
      for (const name of ['prometheus', 'grafana']) {
        const service = services[name] ?? {};
        expect(asArray(service.profiles)).toEqual(['monitoring']);
        for (const port of asArray(service.ports)) expect(String(port)).toMatch(/^127\.0\.0\.1:/);
      }
    });

    it('mounts the Prometheus config and the alert rules where the config names them', () => {
      const mounts = asArray(services.prometheus?.volumes).map(String);
      expect(mounts).toContain('./monitoring/prometheus.yml:/etc/prometheus/prometheus.yml:ro');
      for (const file of asArray(prometheus?.rule_files).map(String)) {
        expect(mounts.find((m) => m.split(':')[1] === file)).toBe(`./monitoring/${file.split('/').pop() ?? ''}:${file}:ro`);
      }
      expect(asArray(prometheus?.rule_files)).toEqual(['/etc/prometheus/alerts.yml']);
    });

    it('provisions Grafana from monitoring/grafana: the datasource and the dashboard where the provider reads', () => {
      const mounts = asArray(services.grafana?.volumes).map(String);
      expect(mounts).toContain('./monitoring/grafana/provisioning:/etc/grafana/provisioning:ro');
      const provider = asRecord(asArray(asRecord(parseYaml(readRepoFile('monitoring/grafana/provisioning/dashboards/argus.yml')))?.providers)[0]);
      const path = String(asRecord(provider?.options)?.path);
      expect(mounts).toContain(`./monitoring/grafana/argus-dashboard.json:${path}/argus-dashboard.json:ro`);
      const datasource = asRecord(asArray(asRecord(parseYaml(readRepoFile('monitoring/grafana/provisioning/datasources/prometheus.yml')))?.datasources)[0]);
      expect(datasource?.url).toBe(`http://prometheus:${String(asArray(services.prometheus?.ports)[0]).split(':').pop()}`);
      expect(String(services.grafana?.image)).toMatch(/^grafana\/grafana:\d+\.\d+\.\d+$/);
    });
  });
});

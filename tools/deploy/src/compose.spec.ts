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

const APPS = ['api-gateway', 'inference', 'results'] as const;
const BASE = 'docker-compose.yml';
const GPU = 'docker-compose.gpu.yml';

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

  it('runs redis, postgres, model-init and the three apps by default', () => {
    const always = Object.entries(services)
      .filter(([, s]) => asArray(s.profiles).length === 0)
      .map(([name]) => name)
      .sort();
    expect(always).toEqual(['api-gateway', 'inference', 'model-init', 'postgres', 'redis', 'results']);
  });

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
    expect(command).toMatch(/--maxmemory-policy noeviction/);
    expect(asArray(services.redis?.volumes)).toContain('redis-data:/data');
  });

  it('keeps Postgres data in a named volume', () => {
    expect(asArray(services.postgres?.volumes)).toContain('postgres-data:/var/lib/postgresql/data');
    const volumes = Object.keys(asRecord(loadCompose(BASE).volumes) ?? {});
    expect(volumes).toEqual(expect.arrayContaining(['redis-data', 'postgres-data', 'models']));
  });

  it('fills the model volume once (model-init) and mounts it read-only in inference', () => {
    expect(asArray(services['model-init']?.volumes)).toContain('models:/models');
    expect(asArray(services.inference?.volumes)).toEqual(['models:/models:ro']);
    expect(containerEnvironment(services.inference ?? {}, {}).MODEL_REPOSITORY).toBe('/models');
  });

  it('builds every image from docker/Dockerfile targets that exist', () => {
    const stages = new Set(parseDockerfile(readRepoFile('docker/Dockerfile')).stages.map((s) => s.name));
    for (const files of [[BASE], [BASE, GPU]]) {
      for (const [name, service] of Object.entries(rendered(files, {}))) {
        const build = asRecord(service.build);
        if (!build) continue;
        expect({ name, dockerfile: build.dockerfile }).toEqual({ name, dockerfile: 'docker/Dockerfile' });
        if (typeof build.target === 'string') expect(stages.has(build.target)).toBe(true);
        else expect(asRecord(build.args)?.APP).toBe(name);
      }
    }
  });

  it('hardens the Argus containers: read-only root, no capabilities, no privilege escalation', () => {
    for (const name of [...APPS, 'model-init']) {
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
    const inference = gpu.inference ?? {};

    it('gives inference the NVIDIA GPU through a device reservation', () => {
      const devices = asArray(asRecord(asRecord(asRecord(inference.deploy)?.resources)?.reservations)?.devices).map(asRecord);
      expect(devices).toEqual([expect.objectContaining({ driver: 'nvidia', capabilities: ['gpu'] })]);
    });

    it('uses the CUDA image and asks for CUDA without a silent CPU fallback', () => {
      expect(asRecord(inference.build)?.target).toBe('inference-cuda');
      expect(String(inference.image)).toMatch(/inference-cuda:/);
      const config = configFrom(containerEnvironment(inference, {}));
      expect(config.models.executionProviders[0]).toBe('cuda');
      expect(config.models.allowCpuFallback).toBe(false);
    });

    it('leaves the other services and the scaling rules as they are', () => {
      expect(inference.ports).toBeUndefined();
      expect(gpu['api-gateway']).toEqual(services['api-gateway']);
      expect(gpu.results).toEqual(services.results);
    });
  });

  describe('monitoring profile', () => {
    it('scrapes every app on its metrics port (the gateway on its operations port), inference by DNS', () => {
      const prometheus = asRecord(parseYaml(readRepoFile('monitoring/prometheus.yml')));
      const jobs = asArray(prometheus?.scrape_configs).map(asRecord);
      const env = (app: string): Record<string, string> => containerEnvironment(services[app] ?? {}, {});
      const targets = (job: string): string[] => {
        const config = jobs.find((j) => j?.job_name === job);
        const statics = asArray(config?.static_configs).flatMap((s) => asArray(asRecord(s)?.targets).map(String));
        const dns = asArray(config?.dns_sd_configs).flatMap((d) =>
          asArray(asRecord(d)?.names).map((n) => `${String(n)}:${String(asRecord(d)?.port)}`),
        );
        return [...statics, ...dns];
      };
      expect(targets('api-gateway')).toEqual([`api-gateway:${env('api-gateway').GATEWAY_METRICS_PORT}`]);
      expect(targets('results')).toEqual([`results:${env('results').RESULTS_PORT}`]);
      expect(targets('inference')).toEqual([`inference:${env('inference').INFERENCE_PORT}`]);
    });
  });
});

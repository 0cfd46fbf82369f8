import { detectQueueName } from '@argus/contracts';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { activeEnv } from './support/dotenv';
import { acceptsValue, appEnvVars, configFrom, deploymentCriticalVars, isCredential } from './support/env-schema';
import { schemaErrors } from './support/k8s-models';
import { find, type K8sObject, kustomize, ofKind } from './support/kustomize';
import { asArray, asRecord, parseYaml, parseYamlStream, readRepoFile, repoPath } from './support/repo';
import { memoryBytes } from './support/sizes';
import {
  allContainers,
  container,
  cpuCores,
  imageTag,
  type LabelSelector,
  selectorMatches,
  selects,
  workload,
  type Workload,
  workloads,
} from './support/workloads';

const OVERLAYS = ['cpu', 'gpu', 'dev'] as const;
type Overlay = (typeof OVERLAYS)[number];
const NAMESPACE = 'argus';
const APPS = { 'argus-api-gateway': 'api-gateway', 'argus-results': 'results' } as const;
/** The registry every base image names until an overlay replaces it: `.invalid` never resolves. */
const PLACEHOLDER_REGISTRY = 'REGISTRY.invalid/';
/** Credentials each app's pods may hold: inference parses untrusted images, so Redis's only. */
const CREDENTIALS_ALLOWED: Record<string, string[]> = {
  'api-gateway': ['REDIS_URL', 'API_KEYS', 'ADMIN_PASSWORD'],
  results: ['REDIS_URL', 'DATABASE_URL'],
  inference: ['REDIS_URL'],
};
const INGRESS_NAMESPACE = 'ingress-nginx';
/** What is routed from outside: the API, its OpenAPI document and UI, the web page and its assets. */
const PUBLIC_ROUTES = ['Exact /', 'Exact /docs-json', 'Prefix /docs', 'Prefix /graphql', 'Prefix /v1', 'Prefix /web'];
const MONITORING_NAMESPACE = 'monitoring';

/**
 * Secrets the cpu and gpu overlays expect the operator to create (k8s/README.md), with the template
 * that lists their keys. The dev overlay generates them from its own files.
 */
const EXTERNAL_SECRETS: Record<string, string> = {
  'argus-redis': 'k8s/base/redis.env.example',
  'argus-gateway': 'k8s/base/gateway.env.example',
  'argus-database': 'k8s/base/database.env.example',
  'argus-redis-scaler': 'k8s/base/redis-scaler.env.example',
};

const renders = new Map<string, K8sObject[]>();
function render(dir: string): K8sObject[] {
  let objects = renders.get(dir);
  if (!objects) {
    objects = kustomize(dir);
    renders.set(dir, objects);
  }
  return objects;
}

/** The keys of a Secret: rendered by the overlay, or the operator-created one's template. */
function secretData(objects: K8sObject[], name: string): Record<string, string> | undefined {
  const rendered = objects.find((o) => o.kind === 'Secret' && o.metadata.name === name);
  if (rendered) {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(asRecord(rendered.data) ?? {})) out[k] = Buffer.from(String(v), 'base64').toString('utf8');
    for (const [k, v] of Object.entries(asRecord(rendered.stringData) ?? {})) out[k] = String(v);
    return out;
  }
  const template = EXTERNAL_SECRETS[name];
  return template ? activeEnv(readRepoFile(template)) : undefined;
}

function configMapData(objects: K8sObject[], name: string): Record<string, string> | undefined {
  const found = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === name);
  return found ? (asRecord(found.data) as Record<string, string> | undefined) ?? {} : undefined;
}

/** The environment a container starts with: envFrom sources in order, then env (later wins). */
function effectiveEnv(objects: K8sObject[], w: Workload, containerName: string): Record<string, string> {
  const c = container(w.pod, containerName);
  const env: Record<string, string> = {};
  for (const source of c.envFrom ?? []) {
    const data = source.configMapRef
      ? configMapData(objects, source.configMapRef.name)
      : source.secretRef
        ? secretData(objects, source.secretRef.name)
        : undefined;
    if (!data) throw new Error(`${w.name}/${containerName}: envFrom ${JSON.stringify(source)} refers to nothing`);
    Object.assign(env, data);
  }
  for (const entry of c.env ?? []) if (entry.value !== undefined) env[entry.name] = entry.value;
  return env;
}

/** The inference pools: one Deployment per model, named argus-inference-<model>. */
function pools(objects: K8sObject[]): Workload[] {
  return workloads(objects).filter((w) => w.podLabels['app.kubernetes.io/name'] === 'inference');
}

/** Every Argus app's workloads with the app name: the gateway, results and each pool. */
function apps(objects: K8sObject[]): [Workload, string][] {
  return [...Object.entries(APPS).map(([name, app]) => [workload(objects, name), app] as [Workload, string]), ...pools(objects).map((w) => [w, 'inference'] as [Workload, string])];
}

function podsSelectedBy(objects: K8sObject[], selector: LabelSelector): Workload[] {
  return workloads(objects).filter((w) => selectorMatches(selector, w.podLabels));
}

describe.each(OVERLAYS)('k8s/overlays/%s', (overlay: Overlay) => {
  const dir = `k8s/overlays/${overlay}`;
  const objects = (): K8sObject[] => render(dir);

  it('renders with kubectl kustomize', () => {
    expect(objects().length).toBeGreaterThan(10);
  });

  it('validates every object against the Kubernetes and KEDA schemas', () => {
    expect(objects().flatMap(schemaErrors)).toEqual([]);
  });

  it('puts everything in the argus namespace, each name once per kind', () => {
    const keys = objects().map((o) => `${o.kind}/${o.metadata.name}`);
    expect(keys.filter((k, i) => keys.indexOf(k) !== i)).toEqual([]);
    for (const o of objects()) {
      if (o.kind === 'Namespace') expect(o.metadata.name).toBe(NAMESPACE);
      else expect(`${o.kind}/${o.metadata.name} ${o.metadata.namespace}`).toBe(`${o.kind}/${o.metadata.name} ${NAMESPACE}`);
    }
  });

  it('enforces the restricted Pod Security Standard on the namespace', () => {
    expect(find(objects(), 'Namespace', NAMESPACE).metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });

  it('runs the three apps, inference as one pool per model, whose selectors match their pod templates', () => {
    for (const name of Object.keys(APPS)) expect(workload(objects(), name).kind).toBe('Deployment');
    expect(pools(objects()).map((w) => w.name)).toEqual(['argus-inference-yolox-nano']);
    for (const w of workloads(objects())) expect({ w: w.name, ok: selects(w.selector, w.podLabels) }).toEqual({ w: w.name, ok: true });
  });

  describe('pod security', () => {
    it('runs every pod as non-root with seccomp, no host namespaces, no service account token', () => {
      for (const w of workloads(objects())) {
        const sc = w.pod.securityContext ?? {};
        expect({ w: w.name, runAsNonRoot: sc.runAsNonRoot, seccomp: asRecord(sc.seccompProfile)?.type }).toEqual({
          w: w.name,
          runAsNonRoot: true,
          seccomp: 'RuntimeDefault',
        });
        expect(typeof sc.runAsUser === 'number' && sc.runAsUser > 0).toBe(true);
        expect([w.pod.hostNetwork, w.pod.hostPID, w.pod.hostIPC].filter(Boolean)).toEqual([]);
        expect((w.pod.volumes ?? []).filter((v) => 'hostPath' in v)).toEqual([]);
        expect(w.pod.automountServiceAccountToken).toBe(false);
      }
    });

    it('locks every container down: no privilege, read-only root, all capabilities dropped', () => {
      for (const w of workloads(objects())) {
        for (const { container: c } of allContainers(w.pod)) {
          const sc = c.securityContext ?? {};
          expect({ c: `${w.name}/${c.name}`, privileged: sc.privileged ?? false, escalation: sc.allowPrivilegeEscalation, readOnly: sc.readOnlyRootFilesystem, drop: asRecord(sc.capabilities)?.drop, add: asRecord(sc.capabilities)?.add }).toEqual({
            c: `${w.name}/${c.name}`,
            privileged: false,
            escalation: false,
            readOnly: true,
            drop: ['ALL'],
            add: undefined,
          });
          if (sc.runAsUser !== undefined) expect(sc.runAsUser).not.toBe(0);
        }
      }
    });
  });

  it('gives every container CPU and memory requests and limits', () => {
    for (const w of workloads(objects())) {
      for (const { container: c } of allContainers(w.pod)) {
        const r = c.resources ?? {};
        expect({ c: `${w.name}/${c.name}`, cpu: r.requests?.cpu !== undefined && r.limits?.cpu !== undefined, memory: r.requests?.memory !== undefined && r.limits?.memory !== undefined }).toEqual({
          c: `${w.name}/${c.name}`,
          cpu: true,
          memory: true,
        });
        expect(cpuCores(r.requests?.cpu)).toBeLessThanOrEqual(cpuCores(r.limits?.cpu));
      }
    }
  });

  it('pins every image to a tag (never latest) and uses the CUDA image only on GPU', () => {
    for (const w of workloads(objects())) {
      for (const { container: c } of allContainers(w.pod)) {
        const { tag, digest } = imageTag(c.image ?? '');
        expect({ c: `${w.name}/${c.name}`, pinned: digest || (tag !== undefined && tag !== 'latest') }).toEqual({ c: `${w.name}/${c.name}`, pinned: true });
      }
    }
    for (const pool of pools(objects())) {
      const image = container(pool.pod, 'inference').image ?? '';
      expect(imageTag(image).name.endsWith('inference-cuda')).toBe(overlay === 'gpu');
    }
  });

  it('never pulls an Argus image from a registry it did not name: a placeholder that fails, or local images', () => {
    const argus = workloads(objects())
      .filter((w) => w.object.metadata.labels?.['app.kubernetes.io/part-of'] === 'argus' && w.kind === 'Deployment')
      .flatMap((w) => allContainers(w.pod).map(({ container: c }) => ({ c: `${w.name}/${c.name}`, image: c.image ?? '', pull: c.imagePullPolicy })));
    expect(argus.length).toBeGreaterThanOrEqual(4);
    for (const { c, image, pull } of argus) {
      if (overlay === 'dev') expect({ c, image: image.startsWith(PLACEHOLDER_REGISTRY), local: /^argus\/[a-z-]+:local$/.test(image), pull }).toEqual({ c, image: false, local: true, pull: 'Never' });
      else expect({ c, placeholder: image.startsWith(PLACEHOLDER_REGISTRY) }).toEqual({ c, placeholder: true });
    }
  });

  it('probes the apps: startup and liveness on /health/live, readiness on /health/ready, on a declared port', () => {
    for (const [w, app] of apps(objects())) {
      const name = w.name;
      const c = container(w.pod, app);
      const ports = new Set((c.ports ?? []).flatMap((p) => [p.name, p.containerPort]));
      for (const [probe, path] of [
        ['startupProbe', '/health/live'],
        ['livenessProbe', '/health/live'],
        ['readinessProbe', '/health/ready'],
      ] as const) {
        const get = c[probe]?.httpGet;
        expect({ c: name, probe, path: get?.path, portDeclared: get ? ports.has(get.port) : false }).toEqual({ c: name, probe, path, portDeclared: true });
      }
    }
  });

  describe('configuration', () => {
    it('fills the ConfigMap with known variables only, none of them a credential, each value accepted', () => {
      const data = configMapData(objects(), ofKind(objects(), 'ConfigMap').find((c) => c.metadata.name.startsWith('argus-config'))?.metadata.name ?? '') ?? {};
      const known = new Set(appEnvVars());
      expect(Object.keys(data).filter((k) => !known.has(k))).toEqual([]);
      expect(Object.keys(data).filter(isCredential)).toEqual([]);
      expect(Object.entries(data).filter(([k, v]) => !acceptsValue(k, v)).map(([k, v]) => `${k}=${v}`)).toEqual([]);
    });

    it('refers only to ConfigMaps and Secrets that exist (or that the operator creates, with a template)', () => {
      for (const w of workloads(objects())) {
        for (const { container: c } of allContainers(w.pod)) {
          for (const source of c.envFrom ?? []) {
            if (source.configMapRef) expect(configMapData(objects(), source.configMapRef.name)).toBeDefined();
            if (source.secretRef) expect({ secret: source.secretRef.name, known: secretData(objects(), source.secretRef.name) !== undefined }).toEqual({ secret: source.secretRef.name, known: true });
          }
        }
      }
    });

    it('sets every variable without a safe default for each app, and the apps accept the result', () => {
      const critical = deploymentCriticalVars();
      for (const [w, app] of apps(objects())) {
        const env = effectiveEnv(objects(), w, app);
        // A credential is needed where the app uses it; elsewhere its absence is the point.
        const needed = [...critical.keys()].filter((v) => !isCredential(v) || (CREDENTIALS_ALLOWED[app] ?? []).includes(v));
        const missing = needed.filter((v) => env[v] === undefined);
        expect({ app, missing }).toEqual({ app, missing: [] });
        expect(() => configFrom(env)).not.toThrow();
      }
    });

    it('keeps credentials in Secrets: never in the ConfigMap, never as a literal env value', () => {
      for (const w of workloads(objects())) {
        for (const { container: c } of allContainers(w.pod)) {
          const literal = (c.env ?? []).filter((e) => isCredential(e.name) && e.value !== undefined).map((e) => e.name);
          expect({ c: `${w.name}/${c.name}`, literal }).toEqual({ c: `${w.name}/${c.name}`, literal: [] });
        }
      }
    });

    it('gives the database credentials to apps/results only', () => {
      for (const [w, app] of apps(objects())) {
        const env = effectiveEnv(objects(), w, app);
        expect({ app, database: env.DATABASE_URL !== undefined }).toEqual({ app, database: app === 'results' });
      }
    });

    it('splits the Secrets so each app holds only its own credentials: the inference pods none but Redis', () => {
      for (const [w, app] of apps(objects())) {
        const env = effectiveEnv(objects(), w, app);
        const held = Object.keys(env).filter(isCredential).sort();
        expect({ w: w.name, held }).toEqual({ w: w.name, held: [...(CREDENTIALS_ALLOWED[app] ?? [])].sort() });
        const secrets = allContainers(w.pod).flatMap(({ container: c }) => (c.envFrom ?? []).map((s) => s.secretRef?.name).filter((n) => n !== undefined));
        if (app === 'inference') expect({ w: w.name, secrets }).toEqual({ w: w.name, secrets: ['argus-redis'] });
      }
    });

    it('points the gateway at the results Service and its RPC port; results listens on all interfaces', () => {
      const gateway = configFrom(effectiveEnv(objects(), workload(objects(), 'argus-api-gateway'), 'api-gateway'));
      const results = configFrom(effectiveEnv(objects(), workload(objects(), 'argus-results'), 'results'));
      const service = find(objects(), 'Service', gateway.results.rpcHost);
      const rpc = asArray(asRecord(service.spec)?.ports).map(asRecord).find((p) => p?.name === 'rpc');
      expect(rpc?.port).toBe(gateway.results.rpcPort);
      expect(results.results.rpcHost).toBe('0.0.0.0');
      const declared = (container(workload(objects(), 'argus-results').pod, 'results').ports ?? []).map((p) => p.containerPort);
      expect(declared).toEqual(expect.arrayContaining([results.results.port, results.results.rpcPort]));
    });
  });

  describe('model volume', () => {
    it.each(['argus-inference-yolox-nano'])('%s fetches its model in an initContainer into a volume the worker mounts read-only at MODEL_REPOSITORY', (name) => {
      const w = workload(objects(), name);
      const init = (w.pod.initContainers ?? []).find((c) => c.name === 'model-init');
      expect(init).toBeDefined();
      expect(imageTag(init?.image ?? '').name.endsWith('model-init')).toBe(true);
      const env = effectiveEnv(objects(), w, 'inference');
      const repository = configFrom(env).models.repository;
      const initDir = (init?.env ?? []).find((e) => e.name === 'MODEL_DIR')?.value;
      const initMount = (init?.volumeMounts ?? []).find((m) => m.mountPath === initDir);
      const mount = (container(w.pod, 'inference').volumeMounts ?? []).find((m) => m.mountPath === repository);
      expect(initMount?.readOnly ?? false).toBe(false);
      expect(mount).toEqual({ name: initMount?.name, mountPath: repository, readOnly: true });
      const volume = (w.pod.volumes ?? []).find((v) => v.name === mount?.name);
      expect(volume && ('emptyDir' in volume || 'persistentVolumeClaim' in volume)).toBe(true);
    });
  });

  describe('services and ingress', () => {
    it('selects pods with every Service and targets ports those pods declare', () => {
      for (const service of ofKind(objects(), 'Service')) {
        const spec = asRecord(service.spec) ?? {};
        const selected = workloads(objects()).filter((w) => selects((asRecord(spec.selector) ?? {}) as Record<string, string>, w.podLabels));
        expect({ service: service.metadata.name, selects: selected.length > 0 }).toEqual({ service: service.metadata.name, selects: true });
        const declared = new Set(selected.flatMap((w) => allContainers(w.pod).flatMap(({ container: c }) => (c.ports ?? []).flatMap((p) => [p.name, p.containerPort]))));
        for (const port of asArray(spec.ports).map(asRecord)) {
          expect({ service: service.metadata.name, target: port?.targetPort, declared: declared.has(port?.targetPort as string | number) }).toEqual({ service: service.metadata.name, target: port?.targetPort, declared: true });
        }
      }
    });

    it('routes only the public API through the Ingress, to the gateway: never the board, health or metrics', () => {
      const ingresses = ofKind(objects(), 'Ingress');
      expect(ingresses).toHaveLength(1);
      const paths = asArray(asRecord(ingresses[0]?.spec)?.rules).flatMap((rule) => asArray(asRecord(asRecord(rule)?.http)?.paths).map(asRecord));
      expect(paths.map((p) => `${String(p?.pathType)} ${String(p?.path)}`).sort()).toEqual(PUBLIC_ROUTES);
      const backends = paths.map((p) => asRecord(asRecord(p?.backend)?.service));
      expect([...new Set(backends.map((b) => b?.name))]).toEqual(['argus-api-gateway']);
      const service = find(objects(), 'Service', 'argus-api-gateway');
      const servicePorts = asArray(asRecord(service.spec)?.ports).map(asRecord);
      const gateway = configFrom(effectiveEnv(objects(), workload(objects(), 'argus-api-gateway'), 'api-gateway'));
      const declared = container(workload(objects(), 'argus-api-gateway').pod, 'api-gateway').ports ?? [];
      for (const backend of backends) {
        const port = servicePorts.find((p) => p?.name === asRecord(backend?.port)?.name);
        const target = declared.find((p) => p.name === port?.targetPort || p.containerPort === port?.targetPort);
        expect(target?.containerPort).toBe(gateway.gateway.port);
      }
      expect(ofKind(objects(), 'Service').filter((s) => ['LoadBalancer', 'NodePort'].includes(String(asRecord(s.spec)?.type)))).toEqual([]);
    });

    it('lets the largest accepted upload and the longest wait through the ingress', () => {
      const gateway = configFrom(effectiveEnv(objects(), workload(objects(), 'argus-api-gateway'), 'api-gateway'));
      const annotations = ofKind(objects(), 'Ingress')[0]?.metadata.annotations ?? {};
      const body = /^(\d+)([kmg]?)$/i.exec(annotations['nginx.ingress.kubernetes.io/proxy-body-size'] ?? '');
      const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(body?.[2] ?? '').toLowerCase() as '' | 'k' | 'm' | 'g'];
      expect(Number(body?.[1]) * unit).toBeGreaterThan(gateway.limits.maxImageBytes);
      expect(Number(annotations['nginx.ingress.kubernetes.io/proxy-read-timeout']) * 1000).toBeGreaterThan(gateway.limits.maxWaitMs);
    });

    it('gives the gateway time to drain: grace period beyond the longest wait plus the preStop pause', () => {
      const w = workload(objects(), 'argus-api-gateway');
      const gateway = configFrom(effectiveEnv(objects(), w, 'api-gateway'));
      const pause = Number(container(w.pod, 'api-gateway').lifecycle?.preStop?.exec?.command?.[1] ?? 0);
      expect(w.pod.terminationGracePeriodSeconds ?? 30).toBeGreaterThan(gateway.limits.maxWaitMs / 1000 + pause);
    });
  });

  describe('autoscaling and disruption', () => {
    it('scales the gateway with an HPA and each inference pool with KEDA, never both on one Deployment', () => {
      const hpa = ofKind(objects(), 'HorizontalPodAutoscaler').map((h) => asRecord(asRecord(h.spec)?.scaleTargetRef)?.name);
      const keda = ofKind(objects(), 'ScaledObject').map((s) => asRecord(asRecord(s.spec)?.scaleTargetRef)?.name);
      expect(hpa).toEqual(['argus-api-gateway']);
      expect(keda.sort()).toEqual(pools(objects()).map((w) => w.name).sort());
      // An autoscaled Deployment must not set replicas, or every apply resets the autoscaler's count.
      for (const name of [...hpa, ...keda]) expect(workload(objects(), String(name)).replicas).toBeUndefined();
    });

    it("scales each pool on its own model's BullMQ backlog: waiting plus prioritized jobs of detect.<model>", () => {
      for (const pool of pools(objects())) {
        const scaled = ofKind(objects(), 'ScaledObject').find((s) => asRecord(asRecord(s.spec)?.scaleTargetRef)?.name === pool.name);
        const spec = asRecord(scaled?.spec) ?? {};
        const config = configFrom(effectiveEnv(objects(), pool, 'inference'));
        expect({ pool: pool.name, models: config.models.only.length }).toEqual({ pool: pool.name, models: 1 });
        const queue = `${config.redis.prefix}:${detectQueueName(config.models.only[0] ?? '')}`;
        const triggers = asArray(spec.triggers).map(asRecord);
        const byName = Object.fromEntries(triggers.map((t) => [String(t?.name), t]));
        expect(triggers.map((t) => t?.type)).toEqual(['redis', 'redis']);
        // BullMQ keeps jobs without a priority in a list, prioritised ones in a sorted set; KEDA's
        // redis scaler counts both (LLEN or ZCARD by the key's type).
        expect(asRecord(byName.waiting?.metadata)?.listName).toBe(`${queue}:wait`);
        expect(asRecord(byName.prioritized?.metadata)?.listName).toBe(`${queue}:prioritized`);
        const modifiers = asRecord(asRecord(spec.advanced)?.scalingModifiers);
        expect(String(modifiers?.formula).replace(/\s+/g, '')).toBe('waiting+prioritized');
        expect(Number(modifiers?.target)).toBeGreaterThan(0);
        // Never zero: a cold start loads and warms the model.
        expect(Number(spec.minReplicaCount)).toBeGreaterThanOrEqual(1);
        expect(Number(spec.maxReplicaCount)).toBeGreaterThan(Number(spec.minReplicaCount));
      }
    });

    it('authenticates KEDA to Redis through a Secret that has the keys it names', () => {
      for (const scaled of ofKind(objects(), 'ScaledObject')) {
        for (const trigger of asArray(asRecord(scaled.spec)?.triggers).map(asRecord)) {
          const auth = find(objects(), 'TriggerAuthentication', String(asRecord(trigger?.authenticationRef)?.name));
          for (const ref of asArray(asRecord(auth.spec)?.secretTargetRef).map(asRecord)) {
            const data = secretData(objects(), String(ref?.name));
            expect({ secret: ref?.name, key: ref?.key, present: data !== undefined && String(ref?.key) in data }).toEqual({ secret: ref?.name, key: ref?.key, present: true });
          }
          expect(asRecord(trigger?.metadata)?.address).toBeUndefined();
        }
      }
    });

    it('covers every workload with a PodDisruptionBudget that still allows a drain', () => {
      const budgets = ofKind(objects(), 'PodDisruptionBudget');
      for (const w of workloads(objects()).filter((x) => x.kind === 'Deployment')) {
        const mine = budgets.filter((b) => selects((asRecord(asRecord(asRecord(b.spec)?.selector)?.matchLabels) ?? {}) as Record<string, string>, w.podLabels));
        expect({ w: w.name, budgets: mine.length }).toEqual({ w: w.name, budgets: 1 });
        expect(asRecord(mine[0]?.spec)?.maxUnavailable).toBe(1);
      }
    });
  });

  describe('network policies', () => {
    type Peer = { namespace?: string; pods?: string[]; any?: true };
    /** Who may reach a workload on a port, by every policy that selects it. */
    function allowed(name: string): Map<number, Peer[]> {
      const w = workload(objects(), name);
      const out = new Map<number, Peer[]>();
      for (const policy of ofKind(objects(), 'NetworkPolicy')) {
        const spec = asRecord(policy.spec) ?? {};
        if (!selectorMatches((asRecord(spec.podSelector) ?? {}) as LabelSelector, w.podLabels)) continue;
        for (const rule of asArray(spec.ingress).map(asRecord)) {
          const from = asArray(rule?.from).map(asRecord);
          const peers: Peer[] =
            from.length === 0
              ? [{ any: true }]
              : from.map((peer) => {
                  const ns = asRecord(asRecord(peer?.namespaceSelector)?.matchLabels)?.['kubernetes.io/metadata.name'];
                  const pods = peer?.podSelector ? podsSelectedBy(objects(), asRecord(peer.podSelector) as LabelSelector).map((x) => x.name).sort() : undefined;
                  if (peer?.namespaceSelector && ns === undefined) return { any: true };
                  return { ...(ns ? { namespace: String(ns) } : {}), ...(pods ? { pods } : {}) };
                });
          const ports = asArray(rule?.ports).map((p) => Number(asRecord(p)?.port));
          for (const port of ports.length > 0 ? ports : [0]) out.set(port, [...(out.get(port) ?? []), ...peers]);
        }
      }
      return out;
    }

    it('denies ingress by default to every pod of the namespace', () => {
      const deny = ofKind(objects(), 'NetworkPolicy').filter((p) => {
        const spec = asRecord(p.spec) ?? {};
        return Object.keys(asRecord(spec.podSelector) ?? {}).length === 0 && asArray(spec.policyTypes).includes('Ingress') && asArray(spec.ingress).length === 0;
      });
      expect(deny).toHaveLength(1);
    });

    it('lets only the ingress controller reach the gateway API, and Prometheus its operations port', () => {
      expect(Object.fromEntries(allowed('argus-api-gateway'))).toEqual({
        3000: [{ namespace: INGRESS_NAMESPACE }],
        3004: [{ namespace: MONITORING_NAMESPACE }],
      });
    });

    it('lets only the gateway reach results RPC, and Prometheus its metrics', () => {
      expect(Object.fromEntries(allowed('argus-results'))).toEqual({
        3003: [{ pods: ['argus-api-gateway'] }],
        3002: [{ namespace: MONITORING_NAMESPACE }],
      });
    });

    it('lets nothing but Prometheus reach any inference pool', () => {
      for (const pool of pools(objects())) expect(Object.fromEntries(allowed(pool.name))).toEqual({ 3001: [{ namespace: MONITORING_NAMESPACE }] });
    });

    if (overlay === 'dev') {
      it('lets only the apps (and the KEDA operator) reach Redis, and only apps/results reach Postgres', () => {
        expect(Object.fromEntries(allowed('argus-redis'))).toEqual({
          6379: [{ pods: ['argus-api-gateway', 'argus-inference-yolox-nano', 'argus-results'] }, { namespace: 'keda' }],
        });
        expect(Object.fromEntries(allowed('argus-postgres'))).toEqual({ 5432: [{ pods: ['argus-results'] }] });
      });
    }
  });

  if (overlay === 'cpu' || overlay === 'dev') {
    it.each(['argus-inference-yolox-nano'])('runs %s on CPU with ONNX Runtime threads within its CPU limit', (name) => {
      const w = workload(objects(), name);
      const c = container(w.pod, 'inference');
      const config = configFrom(effectiveEnv(objects(), w, 'inference'));
      expect(config.models.executionProviders).toEqual(['cpu']);
      expect(Object.keys(c.resources?.limits ?? {}).filter((k) => k.startsWith('nvidia.com/'))).toEqual([]);
      expect(config.models.intraOpThreads).toBeGreaterThan(0);
      expect(config.models.modelThreads * config.models.intraOpThreads).toBeLessThanOrEqual(cpuCores(c.resources?.limits?.cpu));
    });
  }

  if (overlay === 'gpu') {
    it('gives each inference pod one whole GPU, one model thread, CUDA, and no silent CPU fallback', () => {
      for (const w of pools(objects())) {
        const c = container(w.pod, 'inference');
        expect(String(c.resources?.limits?.['nvidia.com/gpu'])).toBe('1');
        const config = configFrom(effectiveEnv(objects(), w, 'inference'));
        expect(config.models.executionProviders).toEqual(['cuda', 'cpu']);
        expect(config.models.allowCpuFallback).toBe(false);
        expect(config.models.modelThreads).toBe(1);
        expect(asArray(w.pod.tolerations).map((t) => asRecord(t)?.key)).toContain('nvidia.com/gpu');
        // The device plugin pins the device; a visible-devices variable would widen it.
        expect((c.env ?? []).map((e) => e.name).filter((n) => /VISIBLE_DEVICES$/.test(n))).toEqual([]);
      }
    });

    it('rolls GPU pods one at a time without surging past the GPUs there are', () => {
      for (const w of pools(objects())) {
        expect(asRecord(asRecord(asRecord(w.object.spec)?.strategy)?.rollingUpdate)).toEqual({ maxSurge: 0, maxUnavailable: 1 });
      }
    });
  }

  if (overlay === 'dev') {
    it('runs Redis (AOF) and Postgres as StatefulSets on PersistentVolumeClaims', () => {
      const redis = workload(objects(), 'argus-redis');
      const postgres = workload(objects(), 'argus-postgres');
      expect([redis.kind, postgres.kind]).toEqual(['StatefulSet', 'StatefulSet']);
      const args = container(redis.pod, 'redis').args ?? [];
      expect(args.join(' ')).toMatch(/--appendonly yes --appendfsync everysec .*--maxmemory-policy noeviction/);
      // maxmemory at about 75% of the container's limit: room for the AOF rewrite's fork.
      const maxmemory = memoryBytes(args[args.indexOf('--maxmemory') + 1] ?? '', 'redis');
      const limit = memoryBytes(String(container(redis.pod, 'redis').resources?.limits?.memory), 'kubernetes');
      expect(maxmemory / limit).toBeGreaterThanOrEqual(0.6);
      expect(maxmemory / limit).toBeLessThanOrEqual(0.8);
      for (const s of [redis, postgres]) {
        const claims = asArray(asRecord(s.object.spec)?.volumeClaimTemplates).map((t) => asRecord(asRecord(t)?.metadata)?.name);
        const mounted = allContainers(s.pod).flatMap(({ container: c }) => (c.volumeMounts ?? []).map((m) => m.name));
        expect(claims).toEqual(['data']);
        expect(mounted).toContain('data');
      }
    });

    it('connects the apps and KEDA to the in-cluster Redis and Postgres Services', () => {
      const gateway = configFrom(effectiveEnv(objects(), workload(objects(), 'argus-api-gateway'), 'api-gateway'));
      const results = configFrom(effectiveEnv(objects(), workload(objects(), 'argus-results'), 'results'));
      const redisHost = new URL(gateway.redis.url).hostname;
      const postgresHost = new URL(results.database.url).hostname;
      expect(find(objects(), 'Service', redisHost).metadata.name).toBe('argus-redis');
      expect(find(objects(), 'Service', postgresHost).metadata.name).toBe('argus-postgres');
      // KEDA's operator resolves names from its own namespace: the address must name ours.
      expect(secretData(objects(), 'argus-redis-scaler')?.address).toBe(`${redisHost}.${NAMESPACE}.svc:6379`);
    });
  }
});

/** Renders a kustomization written in a temporary folder inside the repository (kustomize refuses absolute paths). */
function renderTemporary(lines: (up: string) => string[]): K8sObject[] {
  mkdirSync(repoPath('tmp'), { recursive: true });
  const dir = mkdtempSync(join(repoPath('tmp'), 'kustomize-'));
  try {
    writeFileSync(join(dir, 'kustomization.yaml'), ['apiVersion: kustomize.config.k8s.io/v1beta1', 'kind: Kustomization', ...lines(relative(dir, repoPath('k8s'))), ''].join('\n'));
    return kustomize(relative(repoPath(), dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('k8s extras', () => {
  it('replaces every placeholder image with an overlay of your own that names your registry', () => {
    const images = ['api-gateway', 'results', 'inference', 'model-init'];
    const objects = renderTemporary((up) => [
      'resources:',
      `  - ${up}/overlays/cpu`,
      'images:',
      ...images.flatMap((image) => [`  - name: ${PLACEHOLDER_REGISTRY}argus/${image}`, `    newName: registry.example.com/argus/${image}`]),
    ]);
    const used = workloads(objects).flatMap((w) => allContainers(w.pod).map(({ container: c }) => c.image ?? ''));
    expect(used.filter((image) => image.includes('.invalid'))).toEqual([]);
    expect(used.filter((image) => image.startsWith('registry.example.com/argus/')).length).toBe(used.length);
  });

  it('adds a pool for another model beside the default one, on its own queue, failing closed on its placeholder source', () => {
    const objects = renderTemporary((up) => ['resources:', `  - ${up}/overlays/cpu`, `  - ${up}/pools/yolov8n-int8`]);
    expect(objects.flatMap(schemaErrors)).toEqual([]);
    expect(pools(objects).map((w) => w.name).sort()).toEqual(['argus-inference-yolov8n-int8', 'argus-inference-yolox-nano']);
    const pool = workload(objects, 'argus-inference-yolov8n-int8');
    const config = configFrom(effectiveEnv(objects, pool, 'inference'));
    expect(config.models.only).toEqual(['yolov8n-int8']);
    const scaled = find(objects, 'ScaledObject', 'argus-inference-yolov8n-int8');
    expect(asRecord(asRecord(scaled.spec)?.scaleTargetRef)?.name).toBe(pool.name);
    expect(asArray(asRecord(scaled.spec)?.triggers).map((t) => asRecord(asRecord(t)?.metadata)?.listName)).toEqual([`argus:${detectQueueName('yolov8n-int8')}:wait`, `argus:${detectQueueName('yolov8n-int8')}:prioritized`]);
    // Pools never share pods: each selector matches its own Deployment only, budgets too.
    for (const w of pools(objects)) expect(pools(objects).filter((other) => selects(w.selector, other.podLabels)).map((o) => o.name)).toEqual([w.name]);
    const sources = (container(pool.pod, 'model-init').env ?? []).find((e) => e.name === 'MODEL_SOURCES')?.value ?? '';
    expect(sources).toMatch(/^yolov8n-int8=https:\/\/[A-Za-z.]+\.invalid\/.*#0{64}$/);
    // The hashed ConfigMap name reaches the pool added at the overlay's level too.
    const configMaps = (container(pool.pod, 'inference').envFrom ?? []).map((e) => e.configMapRef?.name).filter((n) => n !== undefined);
    expect(configMaps.every((name) => objects.some((o) => o.kind === 'ConfigMap' && o.metadata.name === name))).toBe(true);
  });

  it('routes the same public paths through the Gateway API component as through the Ingress', () => {
    const objects = renderTemporary((up) => ['resources:', `  - ${up}/overlays/cpu`, 'components:', `  - ${up}/components/gateway-api`]);
    expect(objects.flatMap(schemaErrors)).toEqual([]);
    const route = find(objects, 'HTTPRoute', 'argus');
    const rules = asArray(asRecord(route.spec)?.rules).map(asRecord);
    const matches = rules.flatMap((r) => asArray(r?.matches).map((m) => asRecord(asRecord(m)?.path)));
    expect(matches.map((m) => `${m?.type === 'PathPrefix' ? 'Prefix' : String(m?.type)} ${String(m?.value)}`).sort()).toEqual(PUBLIC_ROUTES);
    const backends = rules.flatMap((r) => asArray(r?.backendRefs).map(asRecord));
    const service = find(objects, 'Service', 'argus-api-gateway');
    const http = asArray(asRecord(service.spec)?.ports).map(asRecord).find((p) => p?.name === 'http');
    expect(backends).toEqual([{ name: 'argus-api-gateway', port: http?.port }]);
  });

  it('scrapes every app on its operations port and loads the alert rules with the monitoring component', () => {
    const objects = renderTemporary((up) => ['resources:', `  - ${up}/overlays/cpu`, 'components:', `  - ${up}/components/monitoring`]);
    expect(objects.flatMap(schemaErrors)).toEqual([]);
    const monitor = find(objects, 'PodMonitor', 'argus');
    const spec = asRecord(monitor.spec) ?? {};
    const selected = podsSelectedBy(objects, asRecord(spec.selector) as LabelSelector).map((w) => w.name).sort();
    expect(selected).toEqual(['argus-api-gateway', 'argus-inference-yolox-nano', 'argus-results']);
    const endpoints = asArray(spec.podMetricsEndpoints).map(asRecord);
    expect(endpoints.map((e) => [e?.port, e?.path])).toEqual([['ops', '/metrics']]);
    expect(spec.jobLabel).toBe('app.kubernetes.io/name');
    for (const [w, app] of apps(objects)) {
      const ops = (container(w.pod, app).ports ?? []).find((p) => p.name === 'ops')?.containerPort;
      const config = configFrom(effectiveEnv(objects, w, app));
      const metricsPort = { 'api-gateway': config.gateway.metrics.port, inference: config.inference.port, results: config.results.port }[app];
      expect({ w: w.name, ops }).toEqual({ w: w.name, ops: metricsPort });
    }
    const rule = find(objects, 'PrometheusRule', 'argus');
    const groups = asArray(asRecord(rule.spec)?.groups).map(asRecord);
    const compose = asArray(asRecord(parseYaml(readRepoFile('monitoring/alerts.yml')))?.groups);
    expect(groups.slice(0, compose.length)).toEqual(compose);
    expect(groups.slice(compose.length).map((g) => g?.name)).toEqual(['argus-kubernetes']);
  });

  it('renders the shared model volume component with the gpu overlay and the MIG example patch', () => {
    // Inside the repository (tmp/ is git-ignored): kustomize refuses absolute resource paths.
    mkdirSync(repoPath('tmp'), { recursive: true });
    const dir = mkdtempSync(join(repoPath('tmp'), 'kustomize-'));
    try {
      const up = relative(dir, repoPath('k8s'));
      const mig = readRepoFile('k8s/overlays/gpu/examples/mig-mixed.patch.yaml')
        .split('\n')
        .map((l) => `      ${l}`)
        .join('\n');
      writeFileSync(
        join(dir, 'kustomization.yaml'),
        [
          'apiVersion: kustomize.config.k8s.io/v1beta1',
          'kind: Kustomization',
          'resources:',
          `  - ${up}/overlays/gpu`,
          'components:',
          `  - ${up}/components/shared-model-volume`,
          'patches:',
          '  - target: {kind: Deployment, labelSelector: app.kubernetes.io/name=inference}',
          '    patch: |-',
          mig,
          '',
        ].join('\n'),
      );
      const objects = kustomize(relative(repoPath(), dir));
      expect(objects.flatMap(schemaErrors)).toEqual([]);
      const w = workload(objects, 'argus-inference-yolox-nano');
      expect((w.pod.volumes ?? []).find((v) => v.name === 'models')).toEqual({ name: 'models', persistentVolumeClaim: { claimName: 'argus-models' } });
      const claim = find(objects, 'PersistentVolumeClaim', 'argus-models');
      expect(asRecord(claim.spec)?.accessModes).toEqual(['ReadWriteMany']);
      const limits = container(w.pod, 'inference').resources?.limits ?? {};
      expect(Object.keys(limits).filter((k) => k.startsWith('nvidia.com/'))).toEqual(['nvidia.com/mig-1g.10gb']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps the GPU examples valid Kubernetes objects', () => {
    const docs = parseYamlStream(readRepoFile('k8s/overlays/gpu/examples/time-slicing-config.yaml'));
    for (const doc of docs) expect(schemaErrors(doc as K8sObject)).toEqual([]);
    const config = asRecord(parseYamlStream(String(asRecord(asRecord(docs[0])?.data)?.any))[0]);
    expect(asRecord(asRecord(config?.sharing)?.timeSlicing)).toBeDefined();
  });

  it('names only known variables in the Secret templates, credentials only', () => {
    const known = new Set(appEnvVars());
    for (const template of ['k8s/base/redis.env.example', 'k8s/base/gateway.env.example', 'k8s/base/database.env.example']) {
      const keys = Object.keys(activeEnv(readRepoFile(template)));
      expect({ template, unknown: keys.filter((k) => !known.has(k)) }).toEqual({ template, unknown: [] });
      expect({ template, plain: keys.filter((k) => !isCredential(k)) }).toEqual({ template, plain: [] });
    }
    const dev = readdirSync(repoPath('k8s/overlays/dev')).filter((f) => f.endsWith('.env'));
    expect(dev.sort()).toEqual(['database.env', 'gateway.env', 'postgres.env', 'redis-scaler.env', 'redis.env']);
  });

  it('fails with a clear message when kubectl is missing', () => {
    expect(() => kustomize('k8s/overlays/cpu', '/nonexistent/kubectl')).toThrow(/kubectl was not found/);
  });
});

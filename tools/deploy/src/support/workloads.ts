import { type K8sObject } from './kustomize';
import { asArray, asRecord } from './repo';

/** The parts of a container spec the checks read. */
export interface ContainerSpec {
  name: string;
  image?: string;
  imagePullPolicy?: string;
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  resources?: { requests?: Record<string, string | number>; limits?: Record<string, string | number | null> };
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  securityContext?: Record<string, unknown>;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  lifecycle?: { preStop?: { exec?: { command?: string[] } } };
  args?: string[];
}

export interface Probe {
  httpGet?: { path: string; port: string | number };
  exec?: { command: string[] };
  failureThreshold?: number;
  periodSeconds?: number;
}

/** The parts of a pod spec the checks read. */
export interface PodSpec {
  containers: ContainerSpec[];
  initContainers?: ContainerSpec[];
  volumes?: ({ name: string } & Record<string, unknown>)[];
  securityContext?: Record<string, unknown>;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  automountServiceAccountToken?: boolean;
  terminationGracePeriodSeconds?: number;
  tolerations?: unknown[];
}

/** A Deployment or StatefulSet with its pod template. */
export interface Workload {
  object: K8sObject;
  name: string;
  kind: string;
  replicas: number | undefined;
  selector: Record<string, string>;
  podLabels: Record<string, string>;
  pod: PodSpec;
}

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob']);

/** Every workload of a render. */
export function workloads(objects: K8sObject[]): Workload[] {
  return objects
    .filter((o) => WORKLOAD_KINDS.has(o.kind))
    .map((object) => {
      const spec = asRecord(object.spec) ?? {};
      const template = asRecord(spec.template) ?? {};
      const metadata = asRecord(template.metadata) ?? {};
      return {
        object,
        name: object.metadata.name,
        kind: object.kind,
        replicas: typeof spec.replicas === 'number' ? spec.replicas : undefined,
        selector: (asRecord(asRecord(spec.selector)?.matchLabels) ?? {}) as Record<string, string>,
        podLabels: (asRecord(metadata.labels) ?? {}) as Record<string, string>,
        pod: (asRecord(template.spec) ?? { containers: [] }) as unknown as PodSpec,
      };
    });
}

/** The workload whose Deployment/StatefulSet has this name. */
export function workload(objects: K8sObject[], name: string): Workload {
  const found = workloads(objects).find((w) => w.name === name);
  if (!found) throw new Error(`no workload named ${name}`);
  return found;
}

/** Main and init containers. */
export function allContainers(pod: PodSpec): { container: ContainerSpec; init: boolean }[] {
  return [
    ...asArray(pod.initContainers).map((c) => ({ container: c as ContainerSpec, init: true })),
    ...asArray(pod.containers).map((c) => ({ container: c as ContainerSpec, init: false })),
  ];
}

/** The container of a pod with this name; throws when absent. */
export function container(pod: PodSpec, name: string): ContainerSpec {
  const found = allContainers(pod).find((c) => c.container.name === name);
  if (!found) throw new Error(`no container named ${name}`);
  return found.container;
}

/** Whether a label selector (matchLabels) selects these labels. */
export function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([key, value]) => labels[key] === value);
}

/** A LabelSelector with matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist). */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** Whether a full LabelSelector selects these labels (an empty selector selects everything). */
export function selectorMatches(selector: LabelSelector, labels: Record<string, string>): boolean {
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
  const byExpressions = (selector.matchExpressions ?? []).every((expression) => {
    const value = labels[expression.key];
    switch (expression.operator) {
      case 'In':
        return value !== undefined && (expression.values ?? []).includes(value);
      case 'NotIn':
        return value === undefined || !(expression.values ?? []).includes(value);
      case 'Exists':
        return value !== undefined;
      case 'DoesNotExist':
        return value === undefined;
      default:
        throw new Error(`unknown selector operator ${expression.operator}`);
    }
  });
  return byLabels && byExpressions;
}

/** Kubernetes CPU quantity in cores ("500m" -> 0.5, "2" -> 2). */
export function cpuCores(quantity: string | number | null | undefined): number {
  if (quantity === undefined || quantity === null) return Number.NaN;
  const text = String(quantity);
  return text.endsWith('m') ? Number(text.slice(0, -1)) / 1000 : Number(text);
}

/** An image reference split into name and tag (no tag: undefined; digests count as pinned). */
export function imageTag(image: string): { name: string; tag: string | undefined; digest: boolean } {
  if (image.includes('@sha256:')) return { name: image.split('@')[0] ?? image, tag: undefined, digest: true };
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  return colon > slash
    ? { name: image.slice(0, colon), tag: image.slice(colon + 1), digest: false }
    : { name: image, tag: undefined, digest: false };
}

import { ScaledObject, TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Ingress, NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, PersistentVolumeClaim, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { type K8sObject } from './kustomize';

interface Validatable {
  validate(): void;
}
type ModelClass = new (data: never) => Validatable;

/**
 * The schema for every kind Argus renders (kubernetes-models for the core API, its KEDA package for
 * the CRDs). A kind missing here fails the check: nothing is rendered unvalidated.
 */
const MODELS: Record<string, ModelClass> = {
  'v1/Namespace': Namespace,
  'v1/ServiceAccount': ServiceAccount,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/Ingress': Ingress,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
  'keda.sh/v1alpha1/TriggerAuthentication': TriggerAuthentication,
};

/**
 * kustomize folds long base64 values of Secrets over several lines; the API server's decoder skips
 * the line breaks, the "byte" format of the schema does not. Unfold them, change nothing else.
 */
function normalized(object: K8sObject): K8sObject {
  const copy = structuredClone(object);
  const data = object.kind === 'Secret' ? (copy as { data?: Record<string, unknown> }).data : undefined;
  if (data) for (const [key, value] of Object.entries(data)) if (typeof value === 'string') data[key] = value.replace(/\s+/g, '');
  return copy;
}

type Check = (spec: Record<string, unknown>) => string[];
const str = (v: unknown) => typeof v === 'string' && v.length > 0;
const list = (v: unknown) => (Array.isArray(v) ? (v as unknown[]) : []);
const rec = (v: unknown) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

/**
 * The kinds of the optional components (Gateway API, Prometheus Operator), checked for the fields
 * their controllers require. kubernetes-models has packages with their full schemas
 * (@kubernetes-models/gateway-api, @kubernetes-models/prometheus-operator) that this workspace does
 * not install yet; until then these hand-written checks stand in, and name every field they test.
 */
const STRUCTURAL: Record<string, Check> = {
  'gateway.networking.k8s.io/v1/HTTPRoute': (spec) => [
    ...(list(spec.parentRefs).length > 0 && list(spec.parentRefs).every((p) => str(rec(p).name)) ? [] : ['spec.parentRefs needs entries with a name']),
    ...list(spec.rules).flatMap((rule, i) => [
      ...list(rec(rule).matches).flatMap((m, j) => {
        const path = rec(rec(m).path);
        return ['Exact', 'PathPrefix', 'RegularExpression'].includes(String(path.type)) && String(path.value).startsWith('/') ? [] : [`spec.rules[${i}].matches[${j}].path`];
      }),
      ...list(rec(rule).backendRefs).flatMap((b, j) => (str(rec(b).name) && Number.isInteger(rec(b).port) ? [] : [`spec.rules[${i}].backendRefs[${j}] needs name and port`])),
      ...(rec(rule).timeouts === undefined || /^\d+(ms|s|m|h)$/.test(String(rec(rec(rule).timeouts).request)) ? [] : [`spec.rules[${i}].timeouts.request`]),
    ]),
    ...(list(spec.rules).length > 0 ? [] : ['spec.rules is empty']),
  ],
  'monitoring.coreos.com/v1/PodMonitor': (spec) => [
    ...(Object.keys(rec(spec.selector)).length > 0 ? [] : ['spec.selector is required']),
    ...(list(spec.podMetricsEndpoints).length > 0 && list(spec.podMetricsEndpoints).every((e) => str(rec(e).port)) ? [] : ['spec.podMetricsEndpoints need a port name']),
    ...list(spec.podMetricsEndpoints).flatMap((e, i) => list(rec(e).relabelings).flatMap((r, j) => (Array.isArray(rec(r).sourceLabels) && str(rec(r).targetLabel) ? [] : [`podMetricsEndpoints[${i}].relabelings[${j}]`]))),
  ],
  'monitoring.coreos.com/v1/PrometheusRule': (spec) =>
    list(spec.groups).flatMap((g, i) => [
      ...(str(rec(g).name) ? [] : [`spec.groups[${i}].name`]),
      ...list(rec(g).rules).flatMap((r, j) => (str(rec(r).alert) && str(rec(r).expr) ? [] : [`spec.groups[${i}].rules[${j}] needs alert and expr`])),
    ]),
};

/** Validates one object against its Kubernetes (or KEDA) schema; returns the problems found. */
export function schemaErrors(object: K8sObject): string[] {
  const key = `${object.apiVersion}/${object.kind}`;
  const structural = STRUCTURAL[key];
  if (structural) return structural(rec(object.spec)).map((problem) => `${object.kind}/${object.metadata.name}: ${problem}`);
  const Model = MODELS[key];
  if (!Model) return [`no schema known for ${key}: add its kubernetes-models class to tools/deploy/src/support/k8s-models.ts`];
  try {
    new Model(normalized(object) as never).validate();
    return [];
  } catch (error) {
    return [`${object.kind}/${object.metadata.name}: ${error instanceof Error ? error.message : String(error)}`];
  }
}

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

/** Validates one object against its Kubernetes (or KEDA) schema; returns the problems found. */
export function schemaErrors(object: K8sObject): string[] {
  const key = `${object.apiVersion}/${object.kind}`;
  const Model = MODELS[key];
  if (!Model) return [`no schema known for ${key}: add its kubernetes-models class to tools/deploy/src/support/k8s-models.ts`];
  try {
    new Model(normalized(object) as never).validate();
    return [];
  } catch (error) {
    return [`${object.kind}/${object.metadata.name}: ${error instanceof Error ? error.message : String(error)}`];
  }
}

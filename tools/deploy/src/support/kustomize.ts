import { spawnSync } from 'node:child_process';
import { asRecord, parseYamlStream, REPO_ROOT } from './repo';

/** A rendered Kubernetes object: the fields every check reads, the rest kept as parsed. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/**
 * Renders a kustomization (a folder relative to the repository root) with `kubectl kustomize`.
 * kubectl is required: without it the manifests are unchecked, so this fails loudly instead of
 * skipping. KUBECTL overrides the binary.
 */
export function kustomize(relativeDir: string, kubectl = process.env.KUBECTL ?? 'kubectl'): K8sObject[] {
  const run = spawnSync(kubectl, ['kustomize', relativeDir], { cwd: REPO_ROOT, encoding: 'utf8', maxBuffer: 32 * 1024 * 1024 });
  if (run.error) {
    const code = (run.error as NodeJS.ErrnoException).code;
    throw new Error(
      code === 'ENOENT'
        ? `kubectl was not found (looked for "${kubectl}" on PATH). The Kubernetes manifests are checked by rendering them ` +
            'with `kubectl kustomize`: install kubectl (v1.27+, it embeds kustomize), or set KUBECTL to its path.'
        : `could not run ${kubectl}: ${run.error.message}`,
    );
  }
  if (run.status !== 0) throw new Error(`kubectl kustomize ${relativeDir} failed:\n${run.stderr}`);
  return parseYamlStream(run.stdout).map((doc, index) => {
    const object = asRecord(doc);
    const metadata = asRecord(object?.metadata);
    if (!object || typeof object.apiVersion !== 'string' || typeof object.kind !== 'string' || typeof metadata?.name !== 'string') {
      throw new Error(`${relativeDir}: document ${index} is not a Kubernetes object`);
    }
    return object as K8sObject;
  });
}

/** Objects of one kind. */
export function ofKind(objects: K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind);
}

/** The object of a kind and name; throws when it is not there. */
export function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} named ${name} (have: ${ofKind(objects, kind).map((o) => o.metadata.name).join(', ') || 'none'})`);
  return found;
}

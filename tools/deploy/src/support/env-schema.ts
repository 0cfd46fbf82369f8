import { buildConfig, envSchema, knownEnvVars } from '@argus/config';

/**
 * What the deployment files must know about the variables of libs/config/src/env.schema.ts. Read
 * from the schema at test time: a variable added there is checked here without a list to update.
 */

/** Names that carry credentials: they belong in a Secret, never in a ConfigMap or an image. */
const CREDENTIAL = /(PASSWORD|SECRET|TOKEN|API_KEYS?|PRIVATE_KEY|CREDENTIALS?)$|^(DATABASE|REDIS)_URL$/;

/** Defaults that point at the developer's machine, wrong inside a container or a pod. */
const LOOPBACK = /(^|[/@:])(127\.0\.0\.1|localhost|\[?::1\]?)([:/]|$)/;

/** Every variable the apps read. */
export function appEnvVars(): string[] {
  return knownEnvVars();
}

/** True when the name looks like a credential (see {@link CREDENTIAL}). */
export function isCredential(name: string): boolean {
  return CREDENTIAL.test(name);
}

type ParseResult = { success: true; data: unknown } | { success: false };

function fieldOf(name: string): { safeParse(value: unknown): ParseResult } {
  const field = (envSchema.shape as Record<string, { safeParse(value: unknown): ParseResult } | undefined>)[name];
  if (!field) throw new Error(`${name} is not a variable of libs/config/src/env.schema.ts`);
  return field;
}

/** The schema's default for a variable: `{ required: true }` when it has none and is not optional. */
export function schemaDefault(name: string): { required: true } | { required: false; value: unknown } {
  const result = fieldOf(name).safeParse(undefined);
  return result.success ? { required: false, value: result.data } : { required: true };
}

/** Whether a text value is accepted for one variable. */
export function acceptsValue(name: string, value: string): boolean {
  return fieldOf(name).safeParse(value).success;
}

/**
 * Why a variable must be set explicitly by a deployment (docker compose, Kubernetes), or null when
 * the schema's default is safe there.
 */
export function deploymentReason(name: string): string | null {
  if (isCredential(name)) return 'it carries credentials';
  const fallback = schemaDefault(name);
  if (fallback.required) return 'it has no default';
  if (typeof fallback.value === 'string' && LOOPBACK.test(fallback.value)) {
    return `its default (${fallback.value}) is this machine, not a service in the deployment`;
  }
  if (name === 'NODE_ENV') return 'its default is development';
  if (name === 'MODEL_REPOSITORY') return 'its default is a path relative to the working directory';
  return null;
}

/** The variables a deployment must set, with the reason for each. */
export function deploymentCriticalVars(): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of appEnvVars()) {
    const reason = deploymentReason(name);
    if (reason) out.set(name, reason);
  }
  return out;
}

/** Builds the apps' configuration from an environment, as the apps do at start. */
export function configFrom(env: Record<string, string | undefined>): ReturnType<typeof buildConfig> {
  return buildConfig(env);
}

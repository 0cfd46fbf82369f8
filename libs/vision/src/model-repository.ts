import {
  type ErrorInfo,
  type ServedVersion as ContractServedVersion,
  type VersionSelection as ContractVersionSelection,
  VERSION_NAME,
  VersionPolicySchema,
  VersionWeightsSchema,
  compareVersions,
  primaryVersion,
  selectVersions,
  versionNames,
} from '@argus/contracts';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { z } from 'zod';
import { ModelError, messageOf } from './errors';
import { type ModelOverrides, ModelOverridesSchema } from './model-spec';

const MODEL_FILE = 'model.onnx';
const CONFIG_FILE = 'model.json';

/** `<name>/model.json`: how the model is read and run, which versions are served, and their traffic. Strict. */
export const ModelConfigSchema = ModelOverridesSchema.extend({
  versionPolicy: VersionPolicySchema.optional(),
  weights: VersionWeightsSchema.optional(),
});
export type ModelConfig = z.infer<typeof ModelConfigSchema>;

/** One version of a model, readable and ready to load. */
export interface ModelEntry {
  name: string;
  /** The version's folder name (`<name>/<version>/model.onnx`), or the first 12 hex digits of {@link digest} (`<name>/model.onnx`). */
  version: string;
  /** The model's folder (where model.json lives). */
  dir: string;
  /** The model.onnx file. */
  path: string;
  /**
   * sha256 (hex) of the model.onnx bytes, then of model.json's settings of how the model is read
   * and run (not its version policy or weights): it changes whenever what this version computes
   * does, so a file replaced under the same version name is noticed.
   */
  digest: string;
  sizeBytes: number;
  /** model.json's settings of how the model is read and run. */
  overrides: ModelOverrides;
  error?: never;
}

/** A version whose model.onnx is there but cannot be read (or whose folder name is not a version name). */
export interface UnreadableVersion {
  name: string;
  version: string;
  dir: string;
  path: string;
  error: ErrorInfo;
}

/** A version as the scan finds it. */
export type VersionEntry = ModelEntry | UnreadableVersion;

/** One model folder of the repository: its model.json and versions, or why it cannot be served. */
export interface RepositoryModel {
  name: string;
  dir: string;
  /** `<name>/<version>/model.onnx` ('versioned', Triton's) or `<name>/model.onnx` ('single'). */
  layout: 'versioned' | 'single';
  /** model.json ({} without one, or when it is broken). */
  config: ModelConfig;
  /** Every version found, oldest first ({@link compareVersions}). */
  versions: VersionEntry[];
  /** Set when the model as a whole cannot be served (an unreadable folder, a broken model.json, two layouts at once). */
  error?: ErrorInfo;
}

/**
 * Digests already computed, by model file: a scan that finds a file with the same size, times and
 * inode (and the same settings) takes the digest from here instead of reading the whole file
 * again. A process that scans every few seconds keeps one; one-off scans need none.
 */
export type DigestCache = Map<string, { stamp: string; digest: string }>;

/**
 * Lists the models of a repository: `<dir>/<name>/<version>/model.onnx` (Triton's layout) or
 * `<dir>/<name>/model.onnx` (one version, named by its content), each with its model.json. A
 * model that cannot be read or parsed is listed with its error and does not stop the others;
 * a repository that cannot be read, or holds no model at all, is ModelError('no_models').
 */
export async function scanModelRepository(dir: string, digests?: DigestCache): Promise<RepositoryModel[]> {
  const root = resolve(dir);
  let names: string[];
  try {
    names = await readdir(root);
  } catch (cause) {
    throw new ModelError(
      'no_models',
      `model repository ${root} cannot be read (${messageOf(cause)}); set MODEL_REPOSITORY or run "npm run models:download"`,
      { cause },
    );
  }
  const models: RepositoryModel[] = [];
  for (const name of names.sort()) {
    if (name.startsWith('.')) continue;
    const model = await readModel(root, name, digests);
    if (model) models.push(model);
  }
  if (models.length === 0) {
    throw new ModelError(
      'no_models',
      `model repository ${root} holds no <name>/${MODEL_FILE} or <name>/<version>/${MODEL_FILE}; run "npm run models:download" or copy a model there`,
    );
  }
  return models;
}

/** A version chosen to serve, with its traffic weight (a repository entry by default). */
export type ServedVersion<T extends { version: string } = VersionEntry> = ContractServedVersion<T>;

/** What a model serves under its policy and weights, and what in them did not apply. */
export type VersionSelection<T extends { version: string } = VersionEntry> = ContractVersionSelection<T>;

/**
 * The version a process that serves one version per model loads: the served one with the most
 * traffic (the newest among equals). ModelError('invalid_model') with the reason when the model,
 * its policy or that version cannot be served.
 */
export function primaryEntry(model: RepositoryModel): ModelEntry {
  if (model.error) throw new ModelError('invalid_model', `${model.name}: ${model.error.message}`);
  const { served } = selectVersions(model.versions, model.config.versionPolicy, model.config.weights);
  const top = primaryVersion(served);
  if (!top) throw new ModelError('invalid_model', `${model.name}: its versionPolicy serves none of its versions (${versionNames(model.versions)})`);
  if (top.entry.error) throw new ModelError('invalid_model', `${model.name} version ${top.version}: ${top.entry.error.message}`);
  return top.entry;
}

/**
 * One model file outside any repository (e.g. a CLI argument): named after its folder when the
 * file is model.onnx, else after the file; model.json beside it applies.
 */
export async function readModelFile(path: string): Promise<ModelEntry> {
  const file = resolve(path);
  const dir = dirname(file);
  const name = basename(file) === MODEL_FILE ? basename(dir) : basename(file).replace(/\.onnx$/i, '');
  const config = await readConfig(dir);
  if ('error' in config) throw new ModelError('invalid_model', config.error.message);
  const version = await readVersion(name, dir, file, undefined, overridesOf(config.config));
  if (version.error) throw new ModelError('invalid_model', version.error.message);
  return version;
}

async function readModel(root: string, name: string, digests: DigestCache | undefined): Promise<RepositoryModel | undefined> {
  const dir = join(root, name);
  // stat follows symlinks: a linked model folder is served like a copied one.
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) return undefined;
  const broken = (message: string, layout: RepositoryModel['layout'] = 'single'): RepositoryModel => ({
    name,
    dir,
    layout,
    config: {},
    versions: [],
    error: { code: 'invalid_model', message },
  });
  let children: string[];
  try {
    children = (await readdir(dir)).filter((c) => !c.startsWith('.'));
  } catch (cause) {
    return broken(`${dir} cannot be read: ${messageOf(cause)}`);
  }
  const single = await present(join(dir, MODEL_FILE));
  const folders: string[] = [];
  for (const child of children) {
    if (child === MODEL_FILE || child === CONFIG_FILE) continue;
    const childInfo = await stat(join(dir, child)).catch(() => undefined);
    if (childInfo?.isDirectory() && (await present(join(dir, child, MODEL_FILE)))) folders.push(child);
  }
  folders.sort(compareVersions);
  const layout = folders.length > 0 ? 'versioned' : 'single';
  const config = await readConfig(dir);
  if ('error' in config) return broken(config.error.message, layout);
  if (single && folders.length > 0) {
    return broken(`${dir} holds both ${MODEL_FILE} and version folders (${folders.join(', ')}); keep one layout`, layout);
  }
  if (!single && folders.length === 0) {
    // A folder with nothing of a model is not one; a model.json alone is a model missing its file.
    return config.present ? broken(`${dir} has a ${CONFIG_FILE} but no ${MODEL_FILE} nor <version>/${MODEL_FILE}`) : undefined;
  }
  const overrides = overridesOf(config.config);
  if (single) {
    // Its one version is named by its content: unread, it has no name, and the model has nothing to serve.
    const only = await readVersion(name, dir, join(dir, MODEL_FILE), undefined, overrides, digests);
    if (only.error) return { ...broken(only.error.message), config: config.config };
    return { name, dir, layout, config: config.config, versions: [only] };
  }
  const versions = await Promise.all(folders.map((v) => readVersion(name, dir, join(dir, v, MODEL_FILE), v, overrides, digests)));
  return { name, dir, layout, config: config.config, versions };
}

/** Whether a directory entry is there, even a link whose target is gone (then reading it says why). */
async function present(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined)) !== undefined;
}

async function readConfig(dir: string): Promise<{ config: ModelConfig; present: boolean } | { error: ErrorInfo }> {
  const path = join(dir, CONFIG_FILE);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { config: {}, present: false };
    return { error: { code: 'invalid_model', message: `${path} cannot be read: ${messageOf(e)}` } };
  }
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (cause) {
    return { error: { code: 'invalid_model', message: `${path} is not valid JSON: ${messageOf(cause)}` } };
  }
  const parsed = ModelConfigSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    return { error: { code: 'invalid_model', message: `${path} is invalid: ${problems}` } };
  }
  return { config: parsed.data, present: true };
}

function overridesOf(config: ModelConfig): ModelOverrides {
  const { versionPolicy: _policy, weights: _weights, ...overrides } = config;
  return overrides;
}

/** Reads and hashes one model file; `version` undefined names it by its digest. */
async function readVersion(
  name: string,
  dir: string,
  path: string,
  version: string | undefined,
  overrides: ModelOverrides,
  digests?: DigestCache,
): Promise<VersionEntry> {
  const unreadable = (message: string): UnreadableVersion => ({ name, version: version ?? '', dir, path, error: { code: 'invalid_model', message } });
  if (version !== undefined && !VERSION_NAME.test(version)) {
    return unreadable(`version folder "${version}" is not a version name: 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit`);
  }
  try {
    // stat follows symlinks: a linked model file is served like a copied one.
    const info = await stat(path);
    if (!info.isFile()) return unreadable(`${path} is not a file`);
    const settings = Object.keys(overrides).length > 0 ? canonicalJson(overrides) : '';
    // Anything that changes with the content (or a link pointing elsewhere) changes the stamp.
    const stamp = `${info.dev}:${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}:${settings}`;
    let digest = digests?.get(path)?.stamp === stamp ? digests.get(path)?.digest : undefined;
    if (digest === undefined) {
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
      if (settings) hash.update(settings);
      digest = hash.digest('hex');
      digests?.set(path, { stamp, digest });
    }
    return { name, version: version ?? digest.slice(0, 12), dir, path, digest, sizeBytes: info.size, overrides };
  } catch (e) {
    return unreadable(`${path} cannot be read: ${messageOf(e)}`);
  }
}

/** JSON with object keys sorted: equal settings hash equal however model.json is laid out. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ModelError, messageOf } from './errors';
import { type ModelOverrides, ModelOverridesSchema } from './model-spec';

/** One `<repository>/<name>/model.onnx`, with its content-derived version and model.json overrides. */
export interface ModelEntry {
  name: string;
  dir: string;
  /** The model.onnx file. */
  path: string;
  /** First 12 hex digits of sha256(model.onnx bytes, then model.json bytes if present). */
  version: string;
  sizeBytes: number;
  overrides: ModelOverrides;
}

const MODEL_FILE = 'model.onnx';
const OVERRIDES_FILE = 'model.json';

/** Lists `<dir>/<name>/model.onnx`; a missing or empty repository is a clear error naming the path. */
export async function scanModelRepository(dir: string): Promise<ModelEntry[]> {
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
  const entries: ModelEntry[] = [];
  for (const name of names.sort()) {
    if (name.startsWith('.')) continue;
    const entry = await readModelEntry(root, name);
    if (entry) entries.push(entry);
  }
  if (entries.length === 0) {
    throw new ModelError(
      'no_models',
      `model repository ${root} holds no <name>/${MODEL_FILE}; run "npm run models:download" or copy a model there`,
    );
  }
  return entries;
}

async function readModelEntry(root: string, name: string): Promise<ModelEntry | undefined> {
  const dir = join(root, name);
  const path = join(dir, MODEL_FILE);
  // stat follows symlinks: a linked model folder or file is served like a copied one.
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) return undefined;
  const overridesPath = join(dir, OVERRIDES_FILE);
  const overridesBytes = await readFile(overridesPath).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw new ModelError('invalid_model', `${overridesPath} cannot be read: ${e.message}`, { cause: e });
  });
  const overrides = overridesBytes ? parseOverrides(overridesPath, overridesBytes) : {};
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  if (overridesBytes) hash.update(overridesBytes);
  return { name, dir, path, version: hash.digest('hex').slice(0, 12), sizeBytes: info.size, overrides };
}

function parseOverrides(path: string, bytes: Buffer): ModelOverrides {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (cause) {
    throw new ModelError('invalid_model', `${path} is not valid JSON: ${messageOf(cause)}`, { cause });
  }
  const parsed = ModelOverridesSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ModelError('invalid_model', `${path} is invalid: ${problems}`);
  }
  return parsed.data;
}

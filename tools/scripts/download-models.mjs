#!/usr/bin/env node
// Fills a model repository, verified: models from a folder taken as they are, and models fetched
// from https://, http:// or file:// URLs, each checked against its sha256 before it is installed.
// Plain Node, no dependencies: docker/model-init.sh runs it in the model-init image (compose
// service, Kubernetes initContainer), and `npm run models:download` runs it on a checkout.
//
//   npm run models:download -- [--dir DIR] [--from DIR] [--source SPEC]... [--force]
//                              [--sha256 HEX] [--url URL]
//
// SPEC is `name[@version]=url#sha256`; it installs DIR/<name>/<version>/model.onnx when a version
// is given, else DIR/<name>/model.onnx (the two layouts the model repository reads). With neither
// --source nor a model in --from, the default is YOLOX-Nano from its upstream release, checked
// against the sha256 pinned below. Every file is written under a temporary name beside its target
// and renamed into place, so a reader (an inference process watching the folder) never sees half a
// model; a model already there whose sha256 matches is left alone.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, open, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/**
 * The sha256 of YOLOX_NANO_URL's file. EMPTY ON PURPOSE until someone records it from the release
 * asset itself: a checksum guessed or copied from another export would either fail every download
 * or vouch for the wrong file. While it is empty the default download refuses to install anything
 * (fails closed); a local models folder, --sha256 or a MODEL_SOURCES entry with its #sha256 work.
 */
export const YOLOX_NANO_SHA256 = '';
export const YOLOX_NANO_URL = 'https://github.com/Megvii-BaseDetection/YOLOX/releases/download/0.1.1rc0/yolox_nano.onnx';

const YOLOX_NANO_LICENSE = `YOLOX-Nano (COCO, 80 classes), ONNX, input 416x416
Source: https://github.com/Megvii-BaseDetection/YOLOX/releases/tag/0.1.1rc0 (yolox_nano.onnx)
License: Apache License 2.0, Copyright (c) 2021-2022 Megvii Inc. All rights reserved.
         https://github.com/Megvii-BaseDetection/YOLOX/blob/main/LICENSE
         http://www.apache.org/licenses/LICENSE-2.0

Preprocessing: letterbox r = min(416/h, 416/w), resize to (floor(w*r), floor(h*r)), top-left,
pad 114; BGR; float32 0..255 (no /255); NCHW. Output [1, 3549, 85]: per anchor tx, ty, tw, th,
objectness, 80 class scores (already sigmoid), grid over strides 8, 16, 32.
The release file has a fixed batch of 1; Argus runs it one image at a time.
`;

const MODEL_FILE = 'model.onnx';
const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const SHA256 = /^[0-9a-fA-F]{64}$/;
const URL_SCHEME = /^(https?|file):\/\//;

const USAGE = `Usage: npm run models:download -- [options]

Installs models into DIR as DIR/<name>/model.onnx (or DIR/<name>/<version>/model.onnx), each
verified against its sha256 before it is put in place. Without --source (and with no model in
--from), installs YOLOX-Nano from its GitHub release, checked against the checksum pinned in
tools/scripts/download-models.mjs${YOLOX_NANO_SHA256 ? '' : ' (none is pinned yet: give --sha256)'}.

Options:
  --dir DIR        model repository (default: MODEL_REPOSITORY, else ./models)
  --source SPEC    name[@version]=url#sha256 (url: https://, http:// or file://); repeatable
  --from DIR       copy the models found in DIR (<name>/model.onnx, <name>/<version>/model.onnx)
                   as they are, with the files beside them; a --source they provide is skipped
  --force          replace a model whose sha256 differs from the expected one (default: refuse)
  --sha256 HEX     expected sha256 of the default model's file
  --url URL        fetch the default model from this URL instead (a mirror; file:// works too)
  -h, --help       this text
`;

class Failure extends Error {}

/** `name[@version]=url#sha256` -> { name, version, url, sha256 }, or a string saying what is wrong. */
export function parseSource(spec) {
  const eq = spec.indexOf('=');
  const hash = spec.lastIndexOf('#');
  if (eq <= 0) return `"${spec}" is not name[@version]=url#sha256`;
  const [name, version, ...extra] = spec.slice(0, eq).split('@');
  if (extra.length > 0 || !NAME.test(name ?? '') || (version !== undefined && !NAME.test(version))) {
    return `"${spec.slice(0, eq)}" is not a model name (letters, digits, _ . -), optionally @version`;
  }
  if (hash < eq) return `${name}: the entry has no #sha256 (every source is verified)`;
  const url = spec.slice(eq + 1, hash);
  const sha256 = spec.slice(hash + 1);
  if (!URL_SCHEME.test(url)) return `${name}: "${url}" is not an https://, http:// or file:// URL`;
  if (!SHA256.test(sha256)) return `${name}: "${sha256}" is not a sha256 (64 hex digits)`;
  return { name, version, url, sha256: sha256.toLowerCase() };
}

function parse(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        dir: { type: 'string' },
        from: { type: 'string' },
        source: { type: 'string', multiple: true },
        force: { type: 'boolean' },
        sha256: { type: 'string' },
        url: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    return { error: e.message };
  }
  const v = parsed.values;
  if (v.sha256 !== undefined && !SHA256.test(v.sha256)) return { error: `--sha256 must be 64 hex digits, not "${v.sha256}"` };
  if (v.url !== undefined && !URL_SCHEME.test(v.url)) return { error: `--url must be an http(s):// or file:// URL, not "${v.url}"` };
  const sources = [];
  for (const spec of v.source ?? []) {
    const source = parseSource(spec);
    if (typeof source === 'string') return { error: `--source ${source}` };
    sources.push(source);
  }
  if ((v.sha256 !== undefined || v.url !== undefined) && sources.length > 0) {
    return { error: '--sha256 and --url change the default model; with --source, put the checksum in the entry' };
  }
  return { values: v, sources };
}

async function sha256Of(path) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk);
  return hash.digest('hex');
}

async function isFile(path) {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

const relativeTarget = (source) => join(source.name, ...(source.version ? [source.version] : []), MODEL_FILE);

/** The models of a folder: `<name>/model.onnx` and `<name>/<version>/model.onnx`, dot-entries skipped. */
async function modelsIn(root) {
  const found = [];
  const entries = await readdir(root, { withFileTypes: true }).catch((e) => {
    throw new Failure(`--from ${root} cannot be read: ${e.message}`);
  });
  for (const entry of entries.filter((e) => !e.name.startsWith('.')).sort((a, b) => a.name.localeCompare(b.name))) {
    const dir = join(root, entry.name);
    if (!(await stat(dir).then((s) => s.isDirectory(), () => false))) continue;
    if (await isFile(join(dir, MODEL_FILE))) {
      found.push({ name: entry.name, dir });
      continue;
    }
    for (const version of (await readdir(dir)).filter((v) => !v.startsWith('.')).sort()) {
      if (await isFile(join(dir, version, MODEL_FILE))) found.push({ name: entry.name, version, dir: join(dir, version) });
    }
  }
  return found;
}

/** Writes `dest` from `write(temporary)` by rename(2): readers see the old file or the new one. */
async function replaceAtomically(dest, write) {
  const temporary = join(resolve(dest, '..'), `.${MODEL_FILE}.${process.pid}.${Date.now()}.part`);
  try {
    await write(temporary);
    await rename(temporary, dest);
  } finally {
    await rm(temporary, { force: true });
  }
}

/** Copies one model folder of --from as it is: side files first, model.onnx last. */
async function copyModel(model, options) {
  const label = model.version ? `${model.name}@${model.version}` : model.name;
  const folder = join(options.dir, model.name, ...(model.version ? [model.version] : []));
  await mkdir(folder, { recursive: true });
  const files = (await readdir(model.dir, { withFileTypes: true })).filter((f) => f.isFile() && !f.name.startsWith('.')).map((f) => f.name);
  files.sort((a, b) => (a === MODEL_FILE) - (b === MODEL_FILE) || a.localeCompare(b));
  let copied = 0;
  for (const file of files) {
    const from = join(model.dir, file);
    const to = join(folder, file);
    if ((await isFile(to)) && (await sha256Of(to)) === (await sha256Of(from))) continue;
    await replaceAtomically(to, (temporary) => copyFile(from, temporary));
    copied += 1;
  }
  const sha = await sha256Of(join(folder, MODEL_FILE));
  console.log(`${label}: ${copied === 0 ? 'already in place' : 'copied'} from ${model.dir} (sha256 ${sha}, used as it is)`);
}

async function openSource(url) {
  if (url.startsWith('file://')) {
    const path = fileURLToPath(url);
    const size = (await stat(path).catch((e) => {
      throw new Failure(`${url}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
    })).size;
    return { body: createReadStream(path), size };
  }
  let response;
  try {
    response = await fetch(url, { redirect: 'follow', signal: AbortSignal.timeout(15 * 60 * 1000) });
  } catch (e) {
    // undici says only "fetch failed"; the reason (DNS, refused, timeout) is in its cause.
    const cause = e?.cause?.message ?? e?.cause?.code ?? '';
    throw new Failure(`GET ${url}: ${e?.message ?? e}${cause ? ` (${cause})` : ''}`);
  }
  if (!response.ok || !response.body) throw new Failure(`GET ${url}: HTTP ${response.status} ${response.statusText}`);
  const length = Number(response.headers.get('content-length'));
  return { body: Readable.fromWeb(response.body), size: Number.isFinite(length) && length > 0 ? length : undefined };
}

/** An ONNX file is a protobuf starting with field 1 (ir_version); an HTML error page is not. */
async function checkOnnx(path, url) {
  const file = await open(path);
  try {
    const { buffer, bytesRead } = await file.read(Buffer.alloc(16), 0, 16, 0);
    if (bytesRead < 16 || buffer[0] !== 0x08) {
      throw new Failure(`${url} did not return an ONNX model (it starts with ${JSON.stringify(buffer.subarray(0, bytesRead).toString('latin1'))})`);
    }
  } finally {
    await file.close();
  }
}

/** Installs one source: kept when present with the expected sha256, else fetched and verified. */
async function fetchModel(source, options) {
  const label = source.version ? `${source.name}@${source.version}` : source.name;
  const target = join(options.dir, relativeTarget(source));
  const expected = source.sha256;
  if (await isFile(target)) {
    const actual = await sha256Of(target);
    if (expected && actual === expected) {
      console.log(`${label}: ${target} present and verified (sha256 ${actual}); nothing to do`);
      return;
    }
    if (!expected) {
      console.log(`${label}: ${target} present (sha256 ${actual}); used as it is, not verified (no checksum to compare)`);
      return;
    }
    if (!options.force) throw new Failure(`${target} is there but its sha256 is ${actual}, not ${expected}; use --force to replace it`);
    console.log(`${label}: ${target} has sha256 ${actual}, not ${expected}: fetching it again`);
  }
  if (!expected) {
    throw new Failure(
      `${label}: no sha256 is pinned for ${source.url}, and an unverified download is never installed. ` +
        'Put the model in the models folder yourself, or give its checksum (--sha256 HEX, or a MODEL_SOURCES entry name=url#sha256).',
    );
  }
  // The first folder mkdir creates, so a failed download leaves no empty model folder behind.
  const created = await mkdir(resolve(target, '..'), { recursive: true });
  console.log(`${label}: downloading ${source.url}`);
  let received = 0;
  await replaceAtomically(target, async (temporary) => {
    const { body, size } = await openSource(source.url);
    const hash = createHash('sha256');
    const count = new Transform({
      transform(chunk, _encoding, done) {
        hash.update(chunk);
        received += chunk.length;
        done(null, chunk);
      },
    });
    await pipeline(body, count, createWriteStream(temporary, { flags: 'wx' }));
    const actual = hash.digest('hex');
    if (size !== undefined && received !== size) throw new Failure(`${source.url}: received ${received} bytes, expected ${size}`);
    // A login or error page served with 200 says more as "not a model" than as a checksum mismatch.
    await checkOnnx(temporary, source.url);
    if (actual !== expected) throw new Failure(`${source.url}: sha256 is ${actual}, expected ${expected}; the file was not installed`);
    if (source.license) await writeFile(join(resolve(target, '..'), 'LICENSE.txt'), source.license);
  }).catch(async (error) => {
    if (created) await rm(created, { recursive: true, force: true });
    throw error;
  });
  console.log(`${label}: wrote ${target} (${received} bytes, sha256 ${expected}, verified)`);
}

async function main(argv) {
  const parsed = parse(argv);
  if (parsed.error) {
    console.error(`models:download: ${parsed.error}\n\n${USAGE}`);
    return 2;
  }
  const v = parsed.values;
  if (v.help) {
    console.log(USAGE);
    return 0;
  }
  const dir = resolve(v.dir ?? process.env.MODEL_REPOSITORY ?? 'models');
  const options = { dir, force: v.force ?? false };
  try {
    await mkdir(dir, { recursive: true }).catch((e) => {
      throw new Failure(`cannot create ${dir}: ${e.message}`);
    });
    const local = v.from ? await modelsIn(resolve(v.from)) : [];
    for (const model of local) await copyModel(model, options);
    const provided = new Set(local.map((m) => m.name));
    let sources = parsed.sources;
    if (sources.length === 0 && local.length === 0) {
      sources = [{ name: 'yolox-nano', url: v.url ?? YOLOX_NANO_URL, sha256: (v.sha256 ?? YOLOX_NANO_SHA256).toLowerCase(), license: YOLOX_NANO_LICENSE }];
    }
    for (const source of sources) {
      if (provided.has(source.name)) {
        console.log(`${source.name}: provided by ${v.from}; its source ${source.url} is not used`);
        continue;
      }
      await fetchModel(source, options);
    }
    return 0;
  } catch (e) {
    console.error(`models:download: ${e instanceof Failure ? e.message : (e?.stack ?? String(e))}`);
    return 1;
  }
}

// Run as a script (npm run, model-init); importing it (tests) only reads the exports.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}

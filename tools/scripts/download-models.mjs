#!/usr/bin/env node
// Downloads the default model, YOLOX-Nano, from its upstream GitHub release into a model
// repository: <dir>/yolox-nano/model.onnx plus a LICENSE.txt. Plain Node, no dependencies, so the
// model-init image can run it with nothing installed.
//
//   npm run models:download -- [--dir DIR] [--force] [--sha256 HEX] [--url URL]
//
// DIR defaults to MODEL_REPOSITORY, else ./models (the same default as the apps' config).
// The file is written to a temporary name beside the target and renamed into place, so a reader
// never sees half a model. An existing model is kept unless --force is given.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const MODELS = {
  'yolox-nano': {
    url: 'https://github.com/Megvii-BaseDetection/YOLOX/releases/download/0.1.1rc0/yolox_nano.onnx',
    // Not pinned: nobody here could fetch the release asset to record its checksum, and a guessed
    // one would fail every download. Pass --sha256 (model-init: MODEL_SHA256) to verify.
    sha256: undefined,
    license: `YOLOX-Nano (COCO, 80 classes), ONNX, input 416x416
Source: https://github.com/Megvii-BaseDetection/YOLOX/releases/tag/0.1.1rc0 (yolox_nano.onnx)
License: Apache License 2.0, Copyright (c) 2021-2022 Megvii Inc. All rights reserved.
         https://github.com/Megvii-BaseDetection/YOLOX/blob/main/LICENSE
         http://www.apache.org/licenses/LICENSE-2.0

Preprocessing: letterbox r = min(416/h, 416/w), resize to (floor(w*r), floor(h*r)), top-left,
pad 114; BGR; float32 0..255 (no /255); NCHW. Output [1, 3549, 85]: per anchor tx, ty, tw, th,
objectness, 80 class scores (already sigmoid), grid over strides 8, 16, 32.
The release file has a fixed batch of 1; Argus runs it one image at a time.
`,
  },
};

const USAGE = `Usage: npm run models:download -- [options]

Downloads YOLOX-Nano from its GitHub release into DIR/yolox-nano/model.onnx.

Options:
  --dir DIR       model repository (default: MODEL_REPOSITORY, else ./models)
  --force         download again even if the model is already there
  --sha256 HEX    expected sha256 of the file; the download fails if it differs
  --url URL       fetch from this URL instead (a mirror; file:// works too)
  -h, --help      this text
`;

class Failure extends Error {}

function parse(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        dir: { type: 'string' },
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
  if (v.sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(v.sha256)) {
    return { error: `--sha256 must be 64 hex digits, not "${v.sha256}"` };
  }
  if (v.url !== undefined && !/^(https?|file):\/\//.test(v.url)) {
    return { error: `--url must be an http(s):// or file:// URL, not "${v.url}"` };
  }
  return { values: v };
}

async function sha256Of(path) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk);
  return hash.digest('hex');
}

async function exists(path) {
  return stat(path).then(
    (s) => s.isFile() && s.size > 0,
    () => false,
  );
}

async function source(url) {
  if (url.startsWith('file://')) {
    const path = fileURLToPath(url);
    const size = (await stat(path)).size;
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

async function download(name, model, options) {
  const folder = join(options.dir, name);
  const target = join(folder, 'model.onnx');
  const pinned = options.sha256?.toLowerCase() ?? model.sha256;

  if (!options.force && (await exists(target))) {
    const actual = await sha256Of(target);
    if (pinned && actual !== pinned) {
      throw new Failure(`${target} is there but its sha256 is ${actual}, not ${pinned}; use --force to replace it`);
    }
    console.log(`${name}: ${target} already present (sha256 ${actual}${pinned ? ', verified' : ''}); nothing to do`);
    return;
  }

  await mkdir(folder, { recursive: true });
  const url = options.url ?? model.url;
  const temporary = join(folder, `.model.onnx.${process.pid}.${Date.now()}.part`);
  try {
    console.log(`${name}: downloading ${url}`);
    const { body, size } = await source(url);
    const hash = createHash('sha256');
    let received = 0;
    const count = new Transform({
      transform(chunk, _encoding, done) {
        hash.update(chunk);
        received += chunk.length;
        done(null, chunk);
      },
    });
    await pipeline(body, count, createWriteStream(temporary, { flags: 'wx' }));
    const actual = hash.digest('hex');
    if (size !== undefined && received !== size) throw new Failure(`${url}: received ${received} bytes, expected ${size}`);
    if (pinned && actual !== pinned) throw new Failure(`${url}: sha256 is ${actual}, expected ${pinned}; the file was not installed`);
    await checkOnnx(temporary, url);
    await writeFile(join(folder, 'LICENSE.txt'), model.license);
    await rename(temporary, target);
    console.log(`${name}: wrote ${target} (${received} bytes, sha256 ${actual})`);
    if (!pinned) {
      console.log(`${name}: this sha256 was NOT verified (no checksum is pinned for the upstream file); pin it with --sha256 ${actual}`);
    }
  } finally {
    await rm(temporary, { force: true });
  }
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
  try {
    await download('yolox-nano', MODELS['yolox-nano'], { dir, force: v.force ?? false, sha256: v.sha256, url: v.url });
    return 0;
  } catch (e) {
    console.error(`models:download: ${e instanceof Failure ? e.message : (e?.stack ?? String(e))}`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));

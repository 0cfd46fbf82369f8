import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readRepoFile, repoPath } from './support/repo';

/**
 * docker/model-init.sh with the repository's downloader (tools/scripts/download-models.mjs), as the
 * model-init image runs them, on file:// sources and mounted folders: no network is needed to check
 * verification, idempotence and atomic placement.
 */
describe('docker/model-init.sh', () => {
  let work: string;
  let models: string;

  const sha = (bytes: Buffer | string): string => createHash('sha256').update(bytes).digest('hex');
  // The downloader accepts what starts like an ONNX protobuf (field 1, ir_version).
  const onnx = (fill: number): Buffer => Buffer.concat([Buffer.from([0x08, 0x07, 0x12, 0x04]), Buffer.alloc(60, fill)]);

  function run(env: Record<string, string> = {}): { status: number | null; output: string } {
    const result = spawnSync('sh', [repoPath('docker/model-init.sh')], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', MODEL_DIR: models, MODEL_DOWNLOAD_SCRIPT: repoPath('tools/scripts/download-models.mjs'), ...env },
    });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  }

  /** A file:// source entry for these bytes, with their sha256 (or the one given). */
  function source(name: string, bytes: Buffer, pin = sha(bytes)): string {
    const file = join(work, `${name.replace(/[@/]/g, '_')}-${pin.slice(0, 8)}.onnx`);
    writeFileSync(file, bytes);
    return `${name}=${pathToFileURL(file).href}#${pin}`;
  }

  /** Every file under the model repository, dot-files included (leftovers show up here). */
  function tree(root = models): string[] {
    if (!existsSync(root)) return [];
    return readdirSync(root, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name).slice(root.length + 1))
      .sort();
  }

  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'argus-model-init-'));
    models = join(work, 'models');
  });

  afterEach(() => rmSync(work, { recursive: true, force: true }));

  it('installs a verified file:// source as <name>/model.onnx and leaves no temporary files', () => {
    const bytes = onnx(1);
    const { status, output } = run({ MODEL_SOURCES: source('yolox-nano', bytes) });
    expect(output).toMatch(/verified/);
    expect(status).toBe(0);
    expect(readFileSync(join(models, 'yolox-nano', 'model.onnx')).equals(bytes)).toBe(true);
    expect(tree()).toEqual(['yolox-nano/model.onnx']);
    expect(output).toMatch(/holds: yolox-nano/);
  });

  it('installs name@version as <name>/<version>/model.onnx, several entries separated by commas, spaces or newlines', () => {
    const a = source('detector@2', onnx(2));
    const b = source('detector@3', onnx(3));
    const c = source('other', onnx(4));
    expect(run({ MODEL_SOURCES: `${a},${b}\n ${c}` }).status).toBe(0);
    expect(tree()).toEqual(['detector/2/model.onnx', 'detector/3/model.onnx', 'other/model.onnx']);
    expect(readFileSync(join(models, 'detector', '3', 'model.onnx')).equals(onnx(3))).toBe(true);
  });

  it('does not fetch a model again when the one in place has the expected sha256', () => {
    const entry = source('yolox-nano', onnx(5));
    expect(run({ MODEL_SOURCES: entry }).status).toBe(0);
    const before = statSync(join(models, 'yolox-nano', 'model.onnx'));
    // The source disappears: a second run that tried to fetch it would fail.
    rmSync(new URL(entry.slice(entry.indexOf('=') + 1, entry.lastIndexOf('#'))));
    const second = run({ MODEL_SOURCES: entry });
    expect(second.output).toMatch(/nothing to do/);
    expect(second.status).toBe(0);
    const after = statSync(join(models, 'yolox-nano', 'model.onnx'));
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
  });

  it('fetches again when the file on the volume was damaged', () => {
    const bytes = onnx(6);
    const entry = source('yolox-nano', bytes);
    expect(run({ MODEL_SOURCES: entry }).status).toBe(0);
    writeFileSync(join(models, 'yolox-nano', 'model.onnx'), 'truncat');
    const again = run({ MODEL_SOURCES: entry });
    expect(again.output).toMatch(/fetching it again/);
    expect(again.status).toBe(0);
    expect(readFileSync(join(models, 'yolox-nano', 'model.onnx')).equals(bytes)).toBe(true);
  });

  it('refuses a source whose bytes do not match its sha256 and installs nothing', () => {
    const { status, output } = run({ MODEL_SOURCES: source('yolox-nano', onnx(7), sha('something else')) });
    expect(status).not.toBe(0);
    expect(output).toMatch(/sha256 is [0-9a-f]{64}, expected [0-9a-f]{64}; the file was not installed/);
    expect(output).toMatch(/inference will not start without its models/);
    expect(tree()).toEqual([]);
    expect(readdirSync(models)).toEqual([]);
  });

  it('leaves the file in place, and no temporary file, when a replacement fails its checksum', () => {
    const good = onnx(8);
    expect(run({ MODEL_SOURCES: source('yolox-nano', good) }).status).toBe(0);
    writeFileSync(join(models, 'yolox-nano', 'model.onnx'), 'damaged');
    expect(run({ MODEL_SOURCES: source('yolox-nano', onnx(9), sha(good)) }).status).not.toBe(0);
    expect(tree()).toEqual(['yolox-nano/model.onnx']);
  });

  it.each([
    ['no checksum', 'yolox-nano=https://example.com/m.onnx', /no #sha256/],
    ['a short checksum', 'yolox-nano=https://example.com/m.onnx#abc', /is not a sha256/],
    ['an unsupported scheme', `yolox-nano=ftp://example.com/m.onnx#${'a'.repeat(64)}`, /not an https:\/\/, http:\/\/ or file:\/\/ URL/],
    ['a path for a name', `../up=https://example.com/m.onnx#${'a'.repeat(64)}`, /is not a model name/],
  ])('refuses an entry with %s before fetching anything', (_what, entry, message) => {
    const good = source('other', onnx(10));
    const { status, output } = run({ MODEL_SOURCES: `${good} ${entry}` });
    expect(status).not.toBe(0);
    expect(output).toMatch(message);
    expect(tree()).toEqual([]);
  });

  it('uses the models of a mounted folder as they are, with the files beside them, both layouts', () => {
    const seed = join(work, 'seed');
    mkdirSync(join(seed, 'mine'), { recursive: true });
    mkdirSync(join(seed, 'versioned', '7'), { recursive: true });
    mkdirSync(join(seed, 'not-a-model'), { recursive: true });
    writeFileSync(join(seed, 'mine', 'model.onnx'), 'not even checked: a local model is the operator’s own');
    writeFileSync(join(seed, 'mine', 'model.json'), '{"confidence":0.3}');
    writeFileSync(join(seed, 'versioned', '7', 'model.onnx'), onnx(11));
    writeFileSync(join(seed, 'not-a-model', 'notes.txt'), 'x');
    writeFileSync(join(seed, 'README.md'), 'the folder explains itself');
    const first = run({ MODEL_SEED_DIR: seed });
    expect(first.status).toBe(0);
    expect(tree()).toEqual(['mine/model.json', 'mine/model.onnx', 'versioned/7/model.onnx']);
    expect(readFileSync(join(models, 'mine', 'model.onnx'), 'utf8')).toMatch(/operator’s own/);
    const second = run({ MODEL_SEED_DIR: seed });
    expect(second.output).toMatch(/mine: already in place/);
    // A changed local model replaces the copy on the volume.
    writeFileSync(join(seed, 'mine', 'model.onnx'), 'retrained');
    expect(run({ MODEL_SEED_DIR: seed }).status).toBe(0);
    expect(readFileSync(join(models, 'mine', 'model.onnx'), 'utf8')).toBe('retrained');
  });

  it('skips a source whose model the mounted folder provides, and fetches the others', () => {
    const seed = join(work, 'seed');
    mkdirSync(join(seed, 'yolox-nano'), { recursive: true });
    writeFileSync(join(seed, 'yolox-nano', 'model.onnx'), onnx(12));
    // Unreachable on purpose: fetching it would fail the run.
    const unreachable = `yolox-nano=file:///nonexistent/yolox.onnx#${'b'.repeat(64)}`;
    const { status, output } = run({ MODEL_SEED_DIR: seed, MODEL_SOURCES: `${unreachable} ${source('extra', onnx(13))}` });
    expect(output).toMatch(/yolox-nano: provided by/);
    expect(status).toBe(0);
    expect(tree()).toEqual(['extra/model.onnx', 'yolox-nano/model.onnx']);
  });

  it('needs no network when the mounted folder has the models (no default download)', () => {
    const seed = join(work, 'seed');
    mkdirSync(join(seed, 'yolox-nano'), { recursive: true });
    writeFileSync(join(seed, 'yolox-nano', 'model.onnx'), onnx(14));
    const { status, output } = run({ MODEL_SEED_DIR: seed });
    expect(output).not.toMatch(/downloading/);
    expect(status).toBe(0);
  });

  it('fails closed with nothing to use: the default download is never installed unverified', () => {
    const pinned = /export const YOLOX_NANO_SHA256 = '([0-9a-f]*)';/.exec(readRepoFile('tools/scripts/download-models.mjs'))?.[1];
    expect(pinned).toBeDefined();
    const seed = join(work, 'seed');
    mkdirSync(seed);
    writeFileSync(join(seed, 'README.md'), 'no models yet');
    const { status, output } = run({ MODEL_SEED_DIR: seed });
    expect(status).not.toBe(0);
    // Unpinned: refused before any transfer. Pinned: fetched and verified, which fails here without
    // the network; either way nothing lands in the repository.
    expect(output).toMatch(pinned === '' ? /no sha256 is pinned/ : /GET https:\/\/github\.com\//);
    expect(tree()).toEqual([]);
  });

  it('fails when the mounted folder is missing, instead of silently serving nothing', () => {
    const { status, output } = run({ MODEL_SEED_DIR: join(work, 'not-mounted') });
    expect(status).not.toBe(0);
    expect(output).toMatch(/is not a folder/);
  });

  it('creates MODEL_DIR when it does not exist yet', () => {
    expect(existsSync(models)).toBe(false);
    expect(run({ MODEL_SOURCES: source('m', onnx(15)) }).status).toBe(0);
    expect(existsSync(join(models, 'm', 'model.onnx'))).toBe(true);
  });
});

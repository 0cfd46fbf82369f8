import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoPath } from './support/repo';

/**
 * docker/model-init.sh with a stand-in downloader (same flags as tools/scripts/download-models.mjs:
 * --dir DIR [--sha256 HEX]) that counts its calls: idempotence, checksums and atomic placement are
 * the script's own job, tested here without a network.
 */
describe('docker/model-init.sh', () => {
  let work: string;
  let models: string;
  let calls: string;
  let stub: string;

  const sha = (text: string): string => createHash('sha256').update(text).digest('hex');

  function run(env: Record<string, string> = {}): { status: number | null; output: string } {
    const result = spawnSync('sh', [repoPath('docker/model-init.sh')], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', MODEL_DIR: models, MODEL_DOWNLOAD_SCRIPT: stub, STUB_CALLS: calls, ...env },
    });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  }
  const callCount = (): number => (existsSync(calls) ? readFileSync(calls, 'utf8').split('\n').filter(Boolean).length : 0);
  const target = (): string => join(models, 'yolox-nano', 'model.onnx');

  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'argus-model-init-'));
    models = join(work, 'models');
    calls = join(work, 'calls');
    stub = join(work, 'download.mjs');
    writeFileSync(
      stub,
      [
        "import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';",
        "const arg = (flag) => { const i = process.argv.indexOf(flag); return i < 0 ? undefined : process.argv[i + 1]; };",
        "appendFileSync(process.env.STUB_CALLS, JSON.stringify(process.argv.slice(2)) + '\\n');",
        "if (process.env.STUB_FAIL) { console.error('network down'); process.exit(3); }",
        "const dir = arg('--dir');",
        "mkdirSync(dir + '/yolox-nano', { recursive: true });",
        "writeFileSync(dir + '/yolox-nano/model.onnx', process.env.STUB_BYTES ?? 'model-bytes');",
        "writeFileSync(dir + '/yolox-nano/LICENSE-NOTE.txt', 'Apache-2.0');",
      ].join('\n'),
    );
  });

  afterEach(() => rmSync(work, { recursive: true, force: true }));

  it('downloads into the volume, records the checksum, and leaves no temporary files', () => {
    const { status, output } = run();
    expect(output).toMatch(/ready/);
    expect(status).toBe(0);
    expect(readFileSync(target(), 'utf8')).toBe('model-bytes');
    expect(readFileSync(`${target()}.sha256`, 'utf8').trim()).toBe(sha('model-bytes'));
    expect(readdirSync(join(models, 'yolox-nano')).sort()).toEqual(['LICENSE-NOTE.txt', 'model.onnx', 'model.onnx.sha256']);
    expect(readdirSync(models)).toEqual(['yolox-nano']);
  });

  it('does nothing the second time: the model is there and intact', () => {
    expect(run().status).toBe(0);
    const second = run();
    expect(second.status).toBe(0);
    expect(second.output).toMatch(/nothing to do/);
    expect(callCount()).toBe(1);
  });

  it('fetches again when the file on the volume was damaged', () => {
    expect(run().status).toBe(0);
    writeFileSync(target(), 'truncat');
    expect(run().status).toBe(0);
    expect(callCount()).toBe(2);
    expect(readFileSync(target(), 'utf8')).toBe('model-bytes');
  });

  it('passes the mirror URL to the downloader when one is set', () => {
    expect(run({ MODEL_URL: 'https://mirror.example/yolox_nano.onnx' }).status).toBe(0);
    expect(readFileSync(calls, 'utf8')).toContain('"--url","https://mirror.example/yolox_nano.onnx"');
  });

  it('passes a pinned checksum to the downloader and keeps a pinned model without downloading', () => {
    const pin = sha('model-bytes');
    expect(run({ MODEL_SHA256: pin }).status).toBe(0);
    expect(readFileSync(calls, 'utf8')).toContain(`"--sha256","${pin}"`);
    rmSync(`${target()}.sha256`);
    expect(run({ MODEL_SHA256: pin }).status).toBe(0);
    expect(callCount()).toBe(1);
  });

  it('fails on a checksum mismatch and leaves no model behind', () => {
    const { status, output } = run({ MODEL_SHA256: sha('something else') });
    expect(status).not.toBe(0);
    expect(output).toMatch(/checksum mismatch/);
    expect(existsSync(target())).toBe(false);
    expect(readdirSync(models)).toEqual([]);
  });

  it('fails when the download fails, so inference never starts without its model', () => {
    const { status, output } = run({ STUB_FAIL: '1' });
    expect(status).not.toBe(0);
    expect(output).toMatch(/download failed/);
    expect(existsSync(target())).toBe(false);
  });

  it('rejects a malformed pin before downloading anything', () => {
    expect(run({ MODEL_SHA256: 'ABC' }).status).not.toBe(0);
    expect(run({ MODEL_SHA256: 'abc' }).status).not.toBe(0);
    expect(callCount()).toBe(0);
  });

  it('works with the repository downloader (tools/scripts/download-models.mjs), here from a file:// mirror', () => {
    // The downloader accepts anything that starts like an ONNX protobuf (field 1, ir_version).
    const model = Buffer.concat([Buffer.from([0x08, 0x07, 0x12, 0x04]), Buffer.alloc(60, 7)]);
    const mirror = join(work, 'mirror.onnx');
    writeFileSync(mirror, model);
    const pin = createHash('sha256').update(model).digest('hex');
    const env = { MODEL_DOWNLOAD_SCRIPT: repoPath('tools/scripts/download-models.mjs'), MODEL_URL: `file://${mirror}`, MODEL_SHA256: pin };
    const first = run(env);
    expect(first.output).toMatch(/ready/);
    expect(first.status).toBe(0);
    expect(readFileSync(target()).equals(model)).toBe(true);
    expect(readdirSync(join(models, 'yolox-nano')).sort()).toEqual(['LICENSE.txt', 'model.onnx', 'model.onnx.sha256']);
    expect(run(env).output).toMatch(/nothing to do/);
    const wrong = run({ ...env, MODEL_SHA256: sha('other'), MODEL_DIR: join(work, 'other') });
    expect(wrong.status).not.toBe(0);
    expect(existsSync(join(work, 'other', 'yolox-nano', 'model.onnx'))).toBe(false);
  });

  it('creates MODEL_DIR when it does not exist yet', () => {
    mkdirSync(work, { recursive: true });
    expect(existsSync(models)).toBe(false);
    expect(run().status).toBe(0);
    expect(existsSync(target())).toBe(true);
  });
});

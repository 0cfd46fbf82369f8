import { expectedDetections, iou, type Stack, startStack, testImage, workspaceRoot } from '@argus/testing';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The client as its users get it: built by the same script as `nx run client:build`, packed with
// `npm pack`, installed from the tarball into a project outside the workspace, then used from an
// ES module and from a CommonJS script against a running Argus.

interface PackResult {
  filename: string;
  files: { path: string }[];
}

/** Import and require specifiers in JavaScript and declaration files. */
const SPECIFIERS = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm;

const CHECKS = `
async function main() {
  const argus = new ArgusClient({ baseUrl: process.env.ARGUS_URL, apiKey: process.env.ARGUS_KEY });
  const image = readFileSync(process.env.ARGUS_IMAGE);
  // One step per call, in order; each sees what the earlier ones returned. A route the server
  // gains is one more step here and one more expectation in the test.
  const steps = [
    ['submit', async () => {
      const { status, detection } = await argus.submit(image, { wait: 20000 });
      return { status, detection };
    }],
    ['get', async (out) => argus.get(out.submit.detection.id)],
    ['models', async () => argus.models()],
    ['idempotent', async () => {
      const key = 'package-test-' + Math.random().toString(36).slice(2);
      const first = await argus.submit(image, { idempotencyKey: key, priority: 'low' });
      const again = await argus.submit(image, { idempotencyKey: key, priority: 'low' });
      return [first.detection.id, again.detection.id];
    }],
    ['notFound', async () => argus.get('01a2014a-0000-7000-8000-000000000000').then(
      () => null,
      (e) => ({ isArgusError: e instanceof ArgusError, name: e.name, code: e.code, status: e.status, correlationId: e.correlationId }),
    )],
    ['list', async (out) => {
      const id = out.submit.detection.id;
      // Rows land a moment after the answers: page through until the first submission is listed.
      let all = [];
      for (let i = 0; i < 100 && !all.includes(id); i++) {
        all = [];
        for await (const d of argus.list({ limit: 2 })) all.push(d.id);
        if (!all.includes(id)) await new Promise((r) => setTimeout(r, 100));
      }
      const page = await argus.listPage({ limit: 1 });
      const failed = await argus.listPage({ status: 'failed', since: new Date(Date.now() - 3600000) });
      return { all, first: page.items.map((d) => d.id), more: page.nextCursor !== null, failed: failed.items.length };
    }],
    ['batch', async () => {
      const batch = await argus.submitBatch([image, new File([image], 'second.jpg')], { priority: 'low', idempotencyKey: 'package-batch-' + Math.random().toString(36).slice(2) });
      const done = await argus.waitForBatch(batch.id, { pollMs: 200, timeoutMs: 60000 });
      const lines = [];
      for await (const r of argus.batchResults(batch.id)) lines.push({ image: r.image, id: r.id, status: r.status, boxes: r.detections.length });
      const { contentType, body } = await argus.downloadBatchResults(batch.id, { format: 'csv' });
      const csv = await new Response(body).text();
      return { items: batch.items.map((i) => i.image), done: { status: done.status, total: done.total, completed: done.completed, failed: done.failed }, lines, contentType, csvHeader: csv.slice(0, csv.indexOf(String.fromCharCode(13))) };
    }],
    ['delete', async (out) => {
      const erased = await argus.delete(out.submit.detection.id);
      const after = await argus.get(out.submit.detection.id).then(() => 'still there', (e) => e.code);
      return { outcome: erased.outcome, detection: erased.detection, after };
    }],
    ['webhook', async () => {
      const body = JSON.stringify({ type: 'detection.completed', data: { id: 'd1' } });
      const timestamp = Math.floor(Date.now() / 1000);
      const signature = await signWebhook('whsec_c2VjcmV0LWZvci10ZXN0cw==', { id: 'msg_1', timestamp, body });
      const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(timestamp), 'webhook-signature': signature };
      const event = await verifyWebhook('whsec_c2VjcmV0LWZvci10ZXN0cw==', headers, body);
      const tampered = await verifyWebhook('whsec_c2VjcmV0LWZvci10ZXN0cw==', headers, body.replace('d1', 'd2')).then(() => null, (e) => e.code);
      return { type: event.type, tampered };
    }],
  ];
  const out = { entry };
  for (const [name, step] of steps) out[name] = await step(out);
  return out;
}
main().then(
  (out) => console.log(JSON.stringify(out)),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
`;

const ESM_SCRIPT = `import { ArgusClient, ArgusError, signWebhook, verifyWebhook } from '@argus/client';
import { readFileSync } from 'node:fs';
const entry = import.meta.resolve('@argus/client');
${CHECKS}`;

const CJS_SCRIPT = `const { ArgusClient, ArgusError, signWebhook, verifyWebhook } = require('@argus/client');
const { readFileSync } = require('node:fs');
const entry = require.resolve('@argus/client');
${CHECKS}`;

/** Uses the public API the way an application would; compiled against the installed declarations. */
const TYPED_USE = `
const argus = new ArgusClient({ baseUrl: 'http://localhost:3000', apiKey: 'k', retry: { maxAttempts: 5 } });
export async function use(image: Uint8Array, signal: AbortSignal): Promise<string[]> {
  const { status, detection } = await argus.submit(image, { priority: 'high', classes: ['person'], wait: 1000, signal });
  const view: DetectionView = await argus.get(detection.id, { timeoutMs: 5000 });
  const event: WebhookEvent = await verifyWebhook('whsec_c2VjcmV0', { 'webhook-id': 'x' }, '{}');
  const batch: BatchView = await argus.submitBatch([image, { url: 'https://example.com/a.jpg' }]);
  for await (const item of argus.list({ status: 'completed', since: new Date() })) void item.detections;
  try {
    await argus.delete(view.id);
  } catch (e) {
    if (e instanceof ArgusError) return [e.code, String(e.correlationId)];
  }
  return view.detections.map((d) => d.label).concat(event.type, batch.id, String(status));
}
`;
const TYPED_IMPORTS = `import { ArgusClient, ArgusError, verifyWebhook, type BatchView, type DetectionView, type WebhookEvent } from '@argus/client';`;

function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

function codeFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return codeFiles(path);
    return /\.(js|d\.ts)$/.test(entry.name) ? [path] : [];
  });
}

describe('@argus/client as an npm package', () => {
  const root = workspaceRoot();
  let work: string;
  let consumer: string;
  let installed: string;
  let packed: PackResult;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'argus-client-package-'));
    const built = join(work, 'package');
    run(process.execPath, [join(root, 'libs/client/scripts/build.mjs'), '--out-dir', built], root);
    [packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], built)) as [PackResult];
    consumer = join(work, 'consumer');
    mkdirSync(consumer);
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
    run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', join(work, packed.filename)], consumer);
    installed = join(consumer, 'node_modules', '@argus', 'client');
  }, 180_000);
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('ships ES modules, CommonJS, their declarations, the README and package.json, under Apache-2.0 with no dependencies', () => {
    const paths = packed.files.map((f) => f.path).sort();
    expect(paths).toEqual(expect.arrayContaining(['README.md', 'package.json', 'esm/index.js', 'esm/index.d.ts', 'esm/package.json', 'cjs/index.js', 'cjs/index.d.ts', 'cjs/package.json']));
    expect(paths.filter((p) => !/^(esm|cjs)\/[a-z-]+\.(js|d\.ts)$/.test(p))).toEqual(['README.md', 'cjs/package.json', 'esm/package.json', 'package.json']);
    expect(paths.some((p) => p.includes('spec') || p.includes('testing'))).toBe(false);

    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({
      name: '@argus/client',
      license: 'Apache-2.0',
      exports: {
        '.': {
          import: { types: './esm/index.d.ts', default: './esm/index.js' },
          require: { types: './cjs/index.d.ts', default: './cjs/index.js' },
        },
      },
    });
    for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) expect(manifest[field]).toBeUndefined();
    expect(readFileSync(join(installed, 'README.md'), 'utf8')).toContain('verifyWebhook(');
  });

  it('imports nothing but its own files and Node built-ins: no @argus/ path alias', () => {
    const files = codeFiles(installed);
    expect(files.length).toBeGreaterThan(10);
    const foreign: string[] = [];
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      if (text.includes('@argus/')) foreign.push(`${file}: mentions @argus/`);
      for (const [, specifier] of text.matchAll(SPECIFIERS)) {
        if (!specifier?.startsWith('./') && !specifier?.startsWith('node:')) foreign.push(`${file}: ${specifier}`);
        // Node's ES module loader needs full file names.
        if (file.includes('/esm/') && specifier?.startsWith('./') && !specifier.endsWith('.js')) foreign.push(`${file}: ${specifier} has no extension`);
      }
    }
    expect(foreign).toEqual([]);
  });

  it('type-checks in an ES module and a CommonJS TypeScript project, and its types catch a mistake', () => {
    const tsc = require.resolve('typescript/bin/tsc');
    writeFileSync(join(consumer, 'esm.mts'), `${TYPED_IMPORTS}\n${TYPED_USE}`);
    writeFileSync(join(consumer, 'cjs.cts'), `${TYPED_IMPORTS}\n${TYPED_USE}`);
    writeFileSync(join(consumer, 'wrong.mts'), `import { ArgusClient } from '@argus/client';\nexport const view: number = await new ArgusClient({ baseUrl: '' }).get('x');\n`);
    const options = { module: 'node16', moduleResolution: 'node16', target: 'es2022', strict: true, noEmit: true, typeRoots: [join(root, 'node_modules/@types')], types: ['node'] };
    writeFileSync(join(consumer, 'tsconfig.json'), JSON.stringify({ compilerOptions: options, files: ['esm.mts', 'cjs.cts'] }));
    writeFileSync(join(consumer, 'tsconfig.wrong.json'), JSON.stringify({ compilerOptions: options, files: ['wrong.mts'] }));
    run(process.execPath, [tsc, '-p', 'tsconfig.json'], consumer);
    const wrong = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.wrong.json'], { cwd: consumer, encoding: 'utf8' });
    expect(wrong.status).not.toBe(0);
    expect(wrong.stdout).toMatch(/wrong\.mts.*TS2322: Type 'DetectionView' is not assignable to type 'number'/);
  }, 120_000);

  describe('against a running Argus', () => {
    let stack: Stack;

    beforeAll(async () => {
      stack = await startStack({ label: 'client-package' });
    });
    afterAll(() => stack?.stop());

    const expectedBus = expectedDetections().find((e) => e.model === 'yolox-nano' && e.image === 'bus.jpg');

    it.each([
      ['an ES module (import)', 'check.mjs', ESM_SCRIPT, '/esm/index.js'],
      ['a CommonJS script (require)', 'check.cjs', CJS_SCRIPT, '/cjs/index.js'],
    ])('works from %s: submits bus.jpg and gets its boxes, reads it back, lists models, maps errors, lists, runs a batch, erases', (_kind, file, script, entry) => {
      writeFileSync(join(consumer, file), script);
      const stdout = run(process.execPath, [file], consumer, { ARGUS_URL: stack.baseUrl, ARGUS_KEY: stack.apiKey, ARGUS_IMAGE: testImage('bus.jpg') });
      const out = JSON.parse(stdout) as {
        entry: string;
        submit: { status: number; detection: { id: string; status: string; model: { name: string }; detections: { label: string; score: number; box: { x1: number; y1: number; x2: number; y2: number } }[] } };
        get: { id: string; status: string; detections: unknown[] };
        models: { name: string; workers: number; classes: number }[];
        idempotent: [string, string];
        notFound: { isArgusError: boolean; name: string; code: string; status: number; correlationId: string | null } | null;
        webhook: { type: string; tampered: string | null };
        list: { all: string[]; first: string[]; more: boolean; failed: number };
        batch: {
          items: string[];
          done: { status: string; total: number; completed: number; failed: number };
          lines: { image: string; id: string; status: string; boxes: number }[];
          contentType: string;
          csvHeader: string;
        };
        delete: { outcome: string; detection: unknown; after: string };
      };
      expect(out.entry).toContain(`node_modules/@argus/client${entry}`);

      expect(out.submit.status).toBe(200);
      expect(out.submit.detection).toMatchObject({ status: 'completed', model: { name: 'yolox-nano' } });
      const boxes = out.submit.detection.detections;
      const wanted = (expectedBus?.detections ?? []).filter((d) => d.score >= 0.5);
      expect(wanted.length).toBeGreaterThanOrEqual(4);
      for (const ref of wanted) {
        const best = Math.max(0, ...boxes.filter((d) => d.label === ref.label).map((d) => iou(ref.box, [d.box.x1, d.box.y1, d.box.x2, d.box.y2])));
        expect({ label: ref.label, box: ref.box, matched: best >= 0.9 }).toEqual({ label: ref.label, box: ref.box, matched: true });
      }

      expect(out.get).toMatchObject({ id: out.submit.detection.id, status: 'completed' });
      expect(out.get.detections).toEqual(out.submit.detection.detections);
      expect(out.models).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'yolox-nano', classes: 80 })]));
      expect(out.idempotent[0]).toBe(out.idempotent[1]);
      expect(out.notFound).toMatchObject({ isArgusError: true, name: 'ArgusError', code: 'not_found', status: 404 });
      expect(out.notFound?.correlationId).toMatch(/\S/);
      expect(out.webhook).toEqual({ type: 'detection.completed', tampered: 'webhook_invalid_signature' });

      // Newest first, every page: the submission and its idempotent repeat are both there, once.
      expect(out.list.all).toEqual(expect.arrayContaining([out.submit.detection.id, out.idempotent[0]]));
      expect(new Set(out.list.all).size).toBe(out.list.all.length);
      expect(out.list.first).toEqual([out.list.all[0]]);
      expect(out.list).toMatchObject({ more: true, failed: 0 });

      expect(out.batch.items).toEqual(['image-1', 'second.jpg']);
      expect(out.batch.done).toEqual({ status: 'completed', total: 2, completed: 2, failed: 0 });
      expect(out.batch.lines.map((l) => [l.image, l.status])).toEqual([
        ['image-1', 'completed'],
        ['second.jpg', 'completed'],
      ]);
      expect(out.batch.lines.every((l) => l.boxes >= 5)).toBe(true);
      expect(out.batch.contentType).toMatch(/^text\/csv/);
      expect(out.batch.csvHeader).toBe('image,detection_id,status,model,model_version,label,class_id,score,x1,y1,x2,y2,error_code');

      expect(out.delete).toEqual({ outcome: 'erased', detection: null, after: 'not_found' });
    });
  });
});

import { testModelRepository } from '@argus/testing';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelError } from './errors';
import { scanModelRepository } from './model-repository';

describe(scanModelRepository.name, () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'argus-models-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function scanError(path: string): Promise<ModelError> {
    const e: unknown = await scanModelRepository(path).then(
      () => new Error('expected the scan to fail'),
      (err: unknown) => err,
    );
    if (e instanceof ModelError) return e;
    throw e;
  }

  it('lists the shared models with a content-derived version', async () => {
    const entries = await scanModelRepository(testModelRepository());
    expect(entries.map((e) => e.name)).toEqual(['yolov8n-int8', 'yolox-nano']);
    const yolox = entries.find((e) => e.name === 'yolox-nano');
    const bytes = await readFile(join(testModelRepository(), 'yolox-nano', 'model.onnx'));
    expect(yolox).toMatchObject({
      path: join(testModelRepository(), 'yolox-nano', 'model.onnx'),
      version: createHash('sha256').update(bytes).digest('hex').slice(0, 12),
      sizeBytes: 3648070,
      overrides: {},
    });
    expect(yolox?.version).toBe('eddfef33eb8c'); // LICENSE-NOTE.txt: sha256 eddfef33eb8cedb0...
  });

  it('serves a symlinked model with its model.json, and skips folders without a model', async () => {
    await mkdir(join(dir, 'people'));
    await symlink(join(testModelRepository(), 'yolox-nano', 'model.onnx'), join(dir, 'people', 'model.onnx'));
    await writeFile(join(dir, 'people', 'model.json'), JSON.stringify({ confidence: 0.4, labels: ['person'] }));
    await mkdir(join(dir, 'notes'));
    await writeFile(join(dir, 'notes', 'README.md'), 'not a model');
    await mkdir(join(dir, '.cache'));
    await writeFile(join(dir, '.cache', 'model.onnx'), 'hidden');
    const entries = await scanModelRepository(dir);
    expect(entries).toEqual([
      expect.objectContaining({ name: 'people', dir: join(dir, 'people'), overrides: { confidence: 0.4, labels: ['person'] } }),
    ]);
  });

  it('derives a new version when the model or its model.json changes', async () => {
    await mkdir(join(dir, 'm'));
    const file = join(dir, 'm', 'model.onnx');
    await writeFile(file, 'first');
    const first = (await scanModelRepository(dir))[0]?.version;
    await writeFile(file, 'second');
    const second = (await scanModelRepository(dir))[0]?.version;
    await writeFile(join(dir, 'm', 'model.json'), '{"iou": 0.5}');
    const third = (await scanModelRepository(dir))[0]?.version;
    expect(first).toMatch(/^[0-9a-f]{12}$/);
    expect(new Set([first, second, third]).size).toBe(3);
    await writeFile(join(dir, 'm', 'model.json'), '{"iou": 0.5}');
    expect((await scanModelRepository(dir))[0]?.version).toBe(third);
  });

  it('names the path of a missing or empty repository', async () => {
    const missing = await scanError(join(dir, 'nowhere'));
    expect([missing.code, missing.message]).toEqual(['no_models', expect.stringContaining(join(dir, 'nowhere'))]);
    const empty = await scanError(dir);
    expect([empty.code, empty.message]).toEqual(['no_models', expect.stringContaining(dir)]);
  });

  it.each([
    ['not JSON', '{ confidence: 0.4 ', /not valid JSON/],
    ['a value out of range', '{"confidence": 2}', /confidence/],
    ['a misspelt key', '{"confidance": 0.4}', /confidance/],
    ['an unknown family', '{"family": "detr"}', /family/],
  ])('refuses a model.json with %s', async (_what, json, message) => {
    await mkdir(join(dir, 'm'));
    await writeFile(join(dir, 'm', 'model.onnx'), 'x');
    await writeFile(join(dir, 'm', 'model.json'), json);
    const e = await scanError(dir);
    expect(e.code).toBe('invalid_model');
    expect(e.message).toMatch(message);
    expect(e.message).toContain(join(dir, 'm', 'model.json'));
  });
});

import { testModelRepository } from '@argus/testing';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelError } from './errors';
import {
  type DigestCache,
  type RepositoryModel,
  type VersionEntry,
  primaryEntry,
  readModelFile,
  scanModelRepository,
} from './model-repository';

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const digestOf = (v: VersionEntry | undefined) => (v && !v.error ? v.digest : undefined);

describe(scanModelRepository.name, () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'argus-models-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Writes files under the temporary repository: { 'm/1/model.onnx': 'bytes', ... }. */
  async function layout(files: Record<string, string>): Promise<void> {
    for (const [path, content] of Object.entries(files)) {
      await mkdir(join(dir, path, '..'), { recursive: true });
      await writeFile(join(dir, path), content);
    }
  }

  async function only(): Promise<RepositoryModel> {
    const models = await scanModelRepository(dir);
    expect(models).toHaveLength(1);
    return models[0] as RepositoryModel;
  }

  async function scanError(path: string): Promise<ModelError> {
    const e: unknown = await scanModelRepository(path).then(
      () => new Error('expected the scan to fail'),
      (err: unknown) => err,
    );
    if (e instanceof ModelError) return e;
    throw e;
  }

  it('lists the shared models, each one version named by its content', async () => {
    const models = await scanModelRepository(testModelRepository());
    expect(models.map((m) => m.name)).toEqual(['yolov8n-int8', 'yolox-nano']);
    const yolox = models.find((m) => m.name === 'yolox-nano') as RepositoryModel;
    const bytes = await readFile(join(testModelRepository(), 'yolox-nano', 'model.onnx'));
    expect(yolox).toEqual({
      name: 'yolox-nano',
      dir: join(testModelRepository(), 'yolox-nano'),
      layout: 'single',
      config: {},
      versions: [
        {
          name: 'yolox-nano',
          version: 'eddfef33eb8c', // LICENSE-NOTE.txt: sha256 eddfef33eb8cedb0...
          dir: join(testModelRepository(), 'yolox-nano'),
          path: join(testModelRepository(), 'yolox-nano', 'model.onnx'),
          digest: sha256(bytes),
          sizeBytes: 3648070,
          overrides: {},
        },
      ],
    });
  });

  it('serves a symlinked model with its model.json, and skips folders without a model', async () => {
    await mkdir(join(dir, 'people'));
    await symlink(join(testModelRepository(), 'yolox-nano', 'model.onnx'), join(dir, 'people', 'model.onnx'));
    await layout({
      'people/model.json': JSON.stringify({ confidence: 0.4, labels: ['person'] }),
      'notes/README.md': 'not a model',
      '.cache/model.onnx': 'hidden',
      'stray.onnx': 'a file at the top is no model folder',
    });
    const model = await only();
    expect(model).toMatchObject({ name: 'people', dir: join(dir, 'people'), config: { confidence: 0.4, labels: ['person'] } });
    expect(model.versions).toEqual([expect.objectContaining({ overrides: { confidence: 0.4, labels: ['person'] } })]);
  });

  it('derives a new version when the model or how it is read changes, not when its weights or policy do', async () => {
    await layout({ 'm/model.onnx': 'first' });
    const version = async () => primaryEntry(await only()).version;
    const first = await version();
    await layout({ 'm/model.onnx': 'second' });
    const second = await version();
    await layout({ 'm/model.json': '{"iou": 0.5}' });
    const third = await version();
    expect(first).toBe(sha256('first').slice(0, 12));
    expect(new Set([first, second, third]).size).toBe(3);
    // The same settings laid out differently, with a policy and weights added: the same version.
    await layout({ 'm/model.json': '{\n  "weights": {"x": 3},\n  "versionPolicy": "all",\n  "iou": 0.5\n}' });
    expect(await version()).toBe(third);
  });

  it("reads Triton's <name>/<version>/model.onnx: versions by folder, ordered, each with its content digest", async () => {
    await layout({
      'det/10/model.onnx': 'ten',
      'det/2/model.onnx': 'two',
      'det/1/model.onnx': 'one',
      'det/1/notes.txt': 'beside the model',
      'det/drafts/README.md': 'a folder without a model is no version',
      'det/model.json': '{"confidence": 0.3}',
    });
    const model = await only();
    expect(model).toMatchObject({ name: 'det', layout: 'versioned', config: { confidence: 0.3 } });
    expect(model.versions.map((v) => [v.version, v.path, digestOf(v)])).toEqual([
      ['1', join(dir, 'det', '1', 'model.onnx'), sha256(Buffer.concat([Buffer.from('one'), Buffer.from('{"confidence":0.3}')]))],
      ['2', join(dir, 'det', '2', 'model.onnx'), expect.stringMatching(/^[0-9a-f]{64}$/)],
      ['10', join(dir, 'det', '10', 'model.onnx'), expect.stringMatching(/^[0-9a-f]{64}$/)],
    ]);
    // A file replaced under the same version name keeps the name and changes the digest.
    const before = digestOf(model.versions[2]);
    await layout({ 'det/10/model.onnx': 'ten, retrained' });
    const after = (await only()).versions[2];
    expect(after?.version).toBe('10');
    expect(digestOf(after)).not.toBe(before);
    expect(before).toMatch(/^[0-9a-f]{64}$/);
  });

  it('reads an unchanged file once across scans with a digest cache, and again once it or its settings change', async () => {
    await layout({ 'm/1/model.onnx': 'version one', 'm/2/model.onnx': 'version two' });
    const digests: DigestCache = new Map();
    const first = await scanModelRepository(dir, digests);
    expect(digestOf(first[0]?.versions[0])).toBe(sha256('version one'));
    // A digest planted under the same stamp is taken as is: the file was not read again.
    const path = join(dir, 'm', '1', 'model.onnx');
    const entry = digests.get(path);
    digests.set(path, { stamp: entry?.stamp ?? '', digest: 'cached' });
    expect(digestOf((await scanModelRepository(dir, digests))[0]?.versions[0])).toBe('cached');
    // Rewritten (another size, another time): read again.
    await writeFile(path, 'version one, replaced');
    expect(digestOf((await scanModelRepository(dir, digests))[0]?.versions[0])).toBe(sha256('version one, replaced'));
    // Settings that change what it computes change the stamp too.
    digests.set(path, { stamp: digests.get(path)?.stamp ?? '', digest: 'cached' });
    await writeFile(join(dir, 'm', 'model.json'), JSON.stringify({ confidence: 0.5 }));
    expect(digestOf((await scanModelRepository(dir, digests))[0]?.versions[0])).not.toBe('cached');
  });

  it('lists a model that cannot be served with its reason, and still lists the others', async () => {
    await layout({
      'good/model.onnx': 'x',
      'not-json/model.onnx': 'x',
      'not-json/model.json': '{ confidence: 0.4 ',
      'both/model.onnx': 'x',
      'both/1/model.onnx': 'x',
      'no-file/model.json': '{}',
    });
    const models = await scanModelRepository(dir);
    expect(models.map((m) => [m.name, m.error?.message ?? 'ok'])).toEqual([
      ['both', expect.stringMatching(/holds both model\.onnx and version folders \(1\); keep one layout/)],
      ['good', 'ok'],
      ['no-file', expect.stringMatching(/has a model\.json but no model\.onnx nor <version>\/model\.onnx/)],
      ['not-json', expect.stringMatching(/model\.json is not valid JSON/)],
    ]);
    expect(models.filter((m) => m.error).every((m) => m.error?.code === 'invalid_model' && m.versions.length === 0)).toBe(true);
  });

  it.each([
    ['a value out of range', '{"confidence": 2}', /confidence/],
    ['a misspelt key', '{"confidance": 0.4}', /confidance/],
    ['an unknown family', '{"family": "ssd"}', /family/],
    ['a version policy of the wrong shape', '{"versionPolicy": {"lastest": 2}}', /versionPolicy: expected "all", \{"latest": N\} or \{"specific"/],
    ['a latest count of 0', '{"versionPolicy": {"latest": 0}}', /versionPolicy/],
    ['a negative weight', '{"weights": {"1": -5}}', /weights\.1/],
    ['a weight for a name that cannot be a version', '{"weights": {"../1": 5}}', /weights/],
  ])('refuses a model.json with %s, naming the file', async (_what, json, message) => {
    await layout({ 'm/1/model.onnx': 'x', 'm/model.json': json, 'other/model.onnx': 'y' });
    const [broken, other] = await scanModelRepository(dir);
    expect(broken?.error).toEqual({ code: 'invalid_model', message: expect.stringMatching(message) });
    expect(broken?.error?.message).toContain(join(dir, 'm', 'model.json'));
    expect(other).toMatchObject({ name: 'other', versions: [expect.objectContaining({ overrides: {} })] });
    expect(other?.error).toBeUndefined();
  });

  it('marks an unreadable model file: the version in a versioned model, the whole model in a single one', async () => {
    await layout({ 'v/1/model.onnx': 'one' });
    await mkdir(join(dir, 'v', '2'));
    await symlink(join(dir, 'gone.onnx'), join(dir, 'v', '2', 'model.onnx')); // its target was removed
    await mkdir(join(dir, 'v', '3', 'model.onnx'), { recursive: true }); // a folder where the file should be
    await mkdir(join(dir, 's'));
    await symlink(join(dir, 'gone.onnx'), join(dir, 's', 'model.onnx'));
    const [single, versioned] = await scanModelRepository(dir);
    expect(single).toMatchObject({ name: 's', versions: [], error: { code: 'invalid_model', message: expect.stringMatching(/model\.onnx cannot be read: ENOENT/) } });
    expect(versioned?.error).toBeUndefined();
    expect(versioned?.versions.map((v) => [v.version, v.error?.message ?? 'ok'])).toEqual([
      ['1', 'ok'],
      ['2', expect.stringMatching(/2\/model\.onnx cannot be read: ENOENT/)],
      ['3', expect.stringMatching(/3\/model\.onnx is not a file/)],
    ]);
  });

  it('refuses a version folder whose name cannot be a version name', async () => {
    await layout({ 'm/1/model.onnx': 'x', 'm/two words/model.onnx': 'y' });
    const model = await only();
    expect(model.versions.map((v) => [v.version, v.error?.message ?? 'ok'])).toEqual([
      ['1', 'ok'],
      ['two words', expect.stringMatching(/"two words" is not a version name/)],
    ]);
  });

  it('names the path of a missing or empty repository', async () => {
    const missing = await scanError(join(dir, 'nowhere'));
    expect([missing.code, missing.message]).toEqual(['no_models', expect.stringContaining(join(dir, 'nowhere'))]);
    const empty = await scanError(dir);
    expect([empty.code, empty.message]).toEqual(['no_models', expect.stringContaining(dir)]);
  });
});

describe(primaryEntry.name, () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'argus-primary-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  async function model(name: string, files: Record<string, string>): Promise<RepositoryModel> {
    for (const [path, content] of Object.entries(files)) {
      await mkdir(join(dir, name, path, '..'), { recursive: true });
      await writeFile(join(dir, name, path), content);
    }
    return (await scanModelRepository(dir)).find((m) => m.name === name) as RepositoryModel;
  }

  it('is the version with the most traffic, else the newest', async () => {
    expect(primaryEntry(await model('a', { '1/model.onnx': 'x', '2/model.onnx': 'y' })).version).toBe('2');
    const weighted = await model('b', { '1/model.onnx': 'x', '2/model.onnx': 'y', 'model.json': '{"versionPolicy": "all", "weights": {"1": 70, "2": 30}}' });
    expect(primaryEntry(weighted).version).toBe('1');
  });

  it('says why a model cannot be served', async () => {
    const none = await model('c', { '1/model.onnx': 'x', 'model.json': '{"versionPolicy": {"specific": ["9"]}}' });
    expect(() => primaryEntry(none)).toThrow(/c: its versionPolicy serves none of its versions \(1\)/);
    const broken = await model('d', { 'model.onnx': 'x', 'model.json': '{"iou": 7}' });
    expect(() => primaryEntry(broken)).toThrow(/d: .*model\.json is invalid: iou/);
  });
});

describe(readModelFile.name, () => {
  it('names a model.onnx after its folder and applies the model.json beside it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'argus-file-'));
    try {
      await mkdir(join(dir, 'detector'));
      await writeFile(join(dir, 'detector', 'model.onnx'), 'bytes');
      await writeFile(join(dir, 'detector', 'model.json'), '{"family": "detr"}');
      await writeFile(join(dir, 'other.onnx'), 'bytes');
      expect(await readModelFile(join(dir, 'detector', 'model.onnx'))).toMatchObject({ name: 'detector', overrides: { family: 'detr' } });
      expect(await readModelFile(join(dir, 'other.onnx'))).toMatchObject({ name: 'other', version: sha256('bytes').slice(0, 12) });
      await expect(readModelFile(join(dir, 'missing.onnx'))).rejects.toThrow(/missing\.onnx cannot be read/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

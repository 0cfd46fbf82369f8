import { ModelInfoSchema } from '@argus/contracts';
import { testDetrModel, testImage, testModelRepository } from '@argus/testing';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelError } from './errors';
import { type RepositoryModel, primaryEntry, readModelFile, scanModelRepository } from './model-repository';
import { preprocess } from './preprocess';
import { DetectorSession, type SessionOptions } from './session';

const OPTIONS: SessionOptions = { executionProviders: ['cpu'], intraOpThreads: 1, interOpThreads: 1, warmupRuns: 1, maxBatchSize: 4 };
const LIMITS = { maxBytes: 20 * 1024 * 1024, maxPixels: 100_000_000 };
/** A tensor's bytes (empty for none), to compare tensors bit for bit. */
const bytes = (a: Float32Array | undefined) => Buffer.from(a?.buffer ?? new ArrayBuffer(0), a?.byteOffset, a?.byteLength);
const PHOTOS = ['bus.jpg', 'zidane.jpg', 'darknet-dog.jpg', 'darknet-horses.png', 'coco-000000000139-livingroom.jpg'];

describe(DetectorSession.name, () => {
  let models: RepositoryModel[];
  const entry = (name: string) => primaryEntry(models.find((m) => m.name === name) as RepositoryModel);
  beforeAll(async () => {
    models = await scanModelRepository(testModelRepository());
  });

  describe('yolox-nano (dynamic batch)', () => {
    let session: DetectorSession;
    beforeAll(async () => {
      session = await DetectorSession.create(entry('yolox-nano'), { ...OPTIONS, executionProviders: ['cuda', 'cpu'] });
    });
    afterAll(() => session.release());

    it('reports the provider that actually runs it, and why the others did not', () => {
      expect(session.requestedProviders).toEqual(['cuda', 'cpu']);
      // On a machine where the CUDA provider loads, it is the one reported; here it does not.
      if (session.provider === 'cpu') expect(session.fallbackReasons).toEqual([expect.stringMatching(/^cuda: /)]);
      else expect(session.provider).toBe('cuda');
    });

    it('reads its layout from the model and batches up to maxBatchSize', () => {
      expect(session.spec).toMatchObject({ family: 'yolox', inputWidth: 416, dynamicBatch: true, numAnchors: 3549 });
      expect(session.maxBatchSize).toBe(4);
      expect(session.notes).toEqual([]);
    });

    it('publishes a valid ModelInfo', () => {
      const info = session.info();
      expect(ModelInfoSchema.omit({ updatedAt: true, weight: true }).parse(info)).toEqual(info);
      expect(info).toMatchObject({ name: 'yolox-nano', version: 'eddfef33eb8c', maxBatchSize: 4, requestedProviders: ['cuda', 'cpu'] });
      expect(info.loadMs).toBeGreaterThan(0);
      expect(info.warmupMs).toBeGreaterThan(0);
    });

    it('gives bit-identical outputs in a batch and one by one (chunks of maxBatchSize)', async () => {
      const tensors = await Promise.all(PHOTOS.map(async (f) => (await preprocess(readFileSync(testImage(f)), session.spec, LIMITS)).tensor));
      const batched = await session.run(tensors);
      expect(batched).toHaveLength(PHOTOS.length);
      for (const [i, tensor] of tensors.entries()) {
        const [single] = await session.run([tensor]);
        expect(batched[i]?.length).toBe(3549 * 85);
        expect(bytes(batched[i]).equals(bytes(single))).toBe(true);
      }
    });

    it('runs on its own thread by default, with the same outputs as on the calling thread', async () => {
      const inline = await DetectorSession.create(entry('yolox-nano'), { ...OPTIONS, thread: false });
      try {
        const tensor = (await preprocess(readFileSync(testImage('bus.jpg')), session.spec, LIMITS)).tensor;
        const copy = tensor.slice();
        const [threaded] = await session.run([tensor]);
        // The caller keeps its tensor, untouched.
        expect(tensor.length).toBe(copy.length);
        expect(bytes(tensor).equals(bytes(copy))).toBe(true);
        const [here] = await inline.run([tensor]);
        expect(bytes(here).equals(bytes(threaded))).toBe(true);
      } finally {
        await inline.release();
      }
    });

    it('runs side by side on several model threads, each warmed up, with the same outputs', async () => {
      const pair = await DetectorSession.create(entry('yolox-nano'), { ...OPTIONS, modelThreads: 2, sharedSlots: 2 });
      try {
        expect(pair.modelThreads).toBe(2);
        expect(session.modelThreads).toBe(1);
        const slots = [pair.slot(), pair.slot()];
        await preprocess(readFileSync(testImage('bus.jpg')), pair.spec, LIMITS, slots[0]?.input);
        await preprocess(readFileSync(testImage('zidane.jpg')), pair.spec, LIMITS, slots[1]?.input);
        const plain = await session.run(slots.map((s) => s.input.slice()));
        // Two runs at once: one on each thread.
        const [a, b] = await Promise.all(slots.map((s) => pair.runSlots([s])));
        expect(bytes(a?.[0]).equals(bytes(plain[0]))).toBe(true);
        expect(bytes(b?.[0]).equals(bytes(plain[1]))).toBe(true);
      } finally {
        await pair.release();
      }
    });

    it('runs images in shared slots with the outputs of a plain run, bit for bit', async () => {
      const shared = await DetectorSession.create(entry('yolox-nano'), { ...OPTIONS, sharedSlots: 3 });
      try {
        const photos = PHOTOS.slice(0, 3);
        const slots = photos.map(() => shared.slot());
        expect(slots.every((s) => s.shared)).toBe(true);
        expect(shared.slot().shared).toBe(false); // all three taken
        await Promise.all(photos.map((f, i) => preprocess(readFileSync(testImage(f)), shared.spec, LIMITS, slots[i]?.input)));
        const tensors = slots.map((s) => s.input.slice());
        const outputs = await shared.runSlots(slots);
        const plain = await session.run(tensors);
        for (const [i, slot] of slots.entries()) {
          expect(slot.output).toBe(outputs[i]);
          expect(bytes(outputs[i]).equals(bytes(plain[i]))).toBe(true);
        }
        for (const slot of slots) slot.release();
        const again = [shared.slot(), shared.slot(), shared.slot()];
        expect(again.map((s) => s.shared)).toEqual([true, true, true]); // all three free again
        for (const slot of again) slot.release();
      } finally {
        await shared.release();
      }
    });

    it('gives an image memory of its own when every shared slot is taken, and runs the mix', async () => {
      const shared = await DetectorSession.create(entry('yolox-nano'), { ...OPTIONS, sharedSlots: 1 });
      try {
        const first = shared.slot();
        const second = shared.slot();
        expect([first.shared, second.shared]).toEqual([true, false]);
        await preprocess(readFileSync(testImage('bus.jpg')), shared.spec, LIMITS, first.input);
        await preprocess(readFileSync(testImage('zidane.jpg')), shared.spec, LIMITS, second.input);
        const plain = await session.run([first.input.slice(), second.input.slice()]);
        const outputs = await shared.runSlots([first, second]);
        expect(bytes(outputs[0]).equals(bytes(plain[0]))).toBe(true);
        expect(bytes(outputs[1]).equals(bytes(plain[1]))).toBe(true);
        first.release();
        first.release(); // twice is harmless
        second.release();
        // The freed slot is handed out again for the next image.
        const third = shared.slot();
        expect(third.index).toBe(first.index);
        third.release();
      } finally {
        await shared.release();
      }
    });

    it('refuses a tensor of the wrong size', async () => {
      await expect(session.run([new Float32Array(12)])).rejects.toMatchObject({ code: 'inference_failed' });
    });
  });

  describe('yolov8n-int8 (static batch 1)', () => {
    let session: DetectorSession;
    beforeAll(async () => {
      session = await DetectorSession.create(entry('yolov8n-int8'), { ...OPTIONS, maxBatchSize: 8 });
    });
    afterAll(() => session.release());

    it('runs one image at a time whatever maxBatchSize says', async () => {
      expect(session.spec).toMatchObject({ family: 'yolov8', dynamicBatch: false, inputWidth: 640 });
      expect(session.maxBatchSize).toBe(1);
      expect(session.provider).toBe('cpu');
      const blank = new Float32Array(3 * 640 * 640);
      const outputs = await session.run([blank, blank, blank]);
      expect(outputs.map((o) => o.length)).toEqual([84 * 8400, 84 * 8400, 84 * 8400]);
    });
  });

  describe('deimv2-atto-int8 (DETR family: two inputs, three outputs, batch squeezed out)', () => {
    let session: DetectorSession;
    beforeAll(async () => {
      session = await DetectorSession.create(await readModelFile(testDetrModel()), { ...OPTIONS, maxBatchSize: 4 });
    });
    afterAll(() => session.release());

    it('measures its query count on the first run, and runs one image at a time: its declared dynamic batch fails', () => {
      expect(session.spec).toMatchObject({
        family: 'detr',
        inputWidth: 320,
        numAnchors: 300,
        outputs: [
          { name: 'labels', size: 300 },
          { name: 'boxes', size: 1200 },
          { name: 'scores', size: 300 },
        ],
        extraInputs: [{ name: 'orig_target_sizes', type: 'int64', values: [320, 320] }],
      });
      expect(session.maxBatchSize).toBe(1);
      expect(session.spec.dynamicBatch).toBe(false);
      expect(session.notes).toEqual([expect.stringMatching(/^batch of 4 failed \(.*GatherElements.*\); running one image at a time$/)]);
      const info = session.info();
      expect(ModelInfoSchema.omit({ updatedAt: true, weight: true }).parse(info)).toEqual(info);
      expect(info).toMatchObject({ name: 'deimv2-atto-int8', family: 'detr', dynamicBatch: false, maxBatchSize: 1 });
    });

    it('hands each image its labels, boxes and scores end to end; class ids come through exactly', async () => {
      const { tensor } = await preprocess(readFileSync(testImage('zidane.jpg')), session.spec, LIMITS);
      const [output] = await session.run([tensor]);
      expect(output?.length).toBe(1800);
      const labels = output?.subarray(0, 300) ?? new Float32Array(0);
      expect(labels.every((l) => Number.isInteger(l) && l >= 0 && l < 80)).toBe(true);
      const scores = output?.subarray(1500) ?? new Float32Array(0);
      expect(scores.every((s) => s >= 0 && s <= 1)).toBe(true);
    });

    it('runs shared slots on its thread and on the calling thread with the outputs of a plain run, bit for bit', async () => {
      const photos = ['bus.jpg', 'darknet-horses.png', 'zidane.jpg'];
      for (const thread of [true, false]) {
        const shared = await DetectorSession.create(await readModelFile(testDetrModel()), { ...OPTIONS, maxBatchSize: 4, sharedSlots: 3, thread });
        try {
          const slots = photos.map(() => shared.slot());
          expect(slots.every((s) => s.shared)).toBe(true);
          await Promise.all(photos.map((f, i) => preprocess(readFileSync(testImage(f)), shared.spec, LIMITS, slots[i]?.input)));
          const plain = await session.run(slots.map((s) => s.input.slice()));
          const outputs = await shared.runSlots(slots);
          for (const [i, output] of outputs.entries()) expect([thread, i, bytes(output).equals(bytes(plain[i]))]).toEqual([thread, i, true]);
          for (const slot of slots) slot.release();
        } finally {
          await shared.release();
        }
      }
    });
  });

  it('publishes model.json defaults and labels', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'argus-session-'));
    try {
      await mkdir(join(dir, 'tuned'));
      await symlink(entry('yolox-nano').path, join(dir, 'tuned', 'model.onnx'));
      await writeFile(join(dir, 'tuned', 'model.json'), JSON.stringify({ confidence: 0.4, maxDetections: 20 }));
      const tuned = primaryEntry((await scanModelRepository(dir))[0] as RepositoryModel);
      const session = await DetectorSession.create(tuned, { ...OPTIONS, maxBatchSize: 1 });
      expect(session.info()).toMatchObject({ name: 'tuned', defaults: { confidence: 0.4, maxDetections: 20 }, maxBatchSize: 1 });
      expect(session.info().defaults).not.toHaveProperty('iou');
      await session.release();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  describe('refuses', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'argus-session-'));
    });
    afterEach(() => rm(dir, { recursive: true, force: true }));

    it('a file that is not an ONNX model, naming every provider tried', async () => {
      await mkdir(join(dir, 'broken'));
      await writeFile(join(dir, 'broken', 'model.onnx'), 'not a model');
      const broken = primaryEntry((await scanModelRepository(dir))[0] as RepositoryModel);
      const e: unknown = await DetectorSession.create(broken, { ...OPTIONS, executionProviders: ['nope', 'cpu'] }).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(ModelError);
      expect(e).toMatchObject({ code: 'invalid_model', message: expect.stringMatching(/broken.*nope: .*cpu: /s) });
    });
  });
});

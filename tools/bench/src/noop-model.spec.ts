import { DetectorSession, postprocess, preprocess, primaryEntry, scanModelRepository } from '@argus/vision';
import { readFile } from 'node:fs/promises';
import { NOOP_INPUT_SIZE, prepareNoop } from './noop-model';

describe('the no-op model for --noop', () => {
  it('is read by the model repository as a one-class YOLOv8 head, runs batched in ONNX Runtime, and finds no box', async () => {
    const setup = await prepareNoop('noop');
    try {
      const entries = (await scanModelRepository(setup.repository)).map(primaryEntry);
      const entry = entries.find((e) => e.name === 'noop');
      if (!entry) throw new Error(`no model "noop" in ${setup.repository}`);
      const session = await DetectorSession.create(entry, { executionProviders: ['cpu'], intraOpThreads: 1, interOpThreads: 0, warmupRuns: 1, maxBatchSize: 4, modelThreads: 1, sharedSlots: 4 });
      try {
        expect(session.spec).toMatchObject({ family: 'yolov8', inputWidth: NOOP_INPUT_SIZE, inputHeight: NOOP_INPUT_SIZE, numClasses: 1, numAnchors: 21, dynamicBatch: true });
        const bytes = await readFile(setup.photo);
        const limits = { maxBytes: 1_000_000, maxPixels: 1_000_000 };
        const prepared = await Promise.all([preprocess(bytes, session.spec, limits), preprocess(bytes, session.spec, limits)]);
        expect(prepared[0]).toMatchObject({ width: 160, height: 120 });
        const outputs = await session.run(prepared.map((p) => p.tensor));
        expect(outputs).toHaveLength(2);
        for (const [i, output] of outputs.entries()) {
          const image = prepared[i];
          if (!image) throw new Error(`no prepared image ${i}`);
          expect(output).toHaveLength(5 * 21);
          expect(output.every((v) => v === 0)).toBe(true);
          expect(postprocess(output, session.spec, image, { confidence: 0.01, iou: 0.45, classes: null, maxDetections: 100, agnostic: false })).toEqual([]);
        }
      } finally {
        await session.release();
      }
    } finally {
      await setup.remove();
    }
  });
});

import { Batcher } from './batcher';

/** A fake model run whose completion the test controls; records the batch sizes it was given. */
function controllableRun() {
  const batches: number[] = [];
  const pending: (() => void)[] = [];
  const run = (tensors: Float32Array[]) => {
    batches.push(tensors.length);
    return new Promise<Float32Array[]>((resolve) => {
      pending.push(() => resolve(tensors.map((t) => Float32Array.from(t, (v) => v * 2))));
    });
  };
  const finishNext = async () => {
    pending.shift()?.();
    await new Promise((r) => setImmediate(r));
  };
  return { run, batches, finishNext, get inFlight() {
    return pending.length;
  } };
}

const tensor = (v: number) => Float32Array.of(v);

describe(Batcher.name, () => {
  it('runs a lone image at once when the model is idle', async () => {
    const model = controllableRun();
    const batcher = new Batcher(model.run, { maxBatchSize: 8, maxWaitMs: 0 });
    const slot = batcher.submit(tensor(1));
    expect(model.batches).toEqual([1]);
    await model.finishNext();
    await expect(slot).resolves.toMatchObject({ output: Float32Array.of(2), batchSize: 1 });
  });

  it('batches what piled up while the model was busy, up to the max, in arrival order', async () => {
    const model = controllableRun();
    const batcher = new Batcher(model.run, { maxBatchSize: 3, maxWaitMs: 0 });
    const first = batcher.submit(tensor(1));
    const rest = [2, 3, 4, 5, 6].map((v) => batcher.submit(tensor(v)));
    expect(model.batches).toEqual([1]);
    expect(batcher.depth).toBe(5);
    await model.finishNext();
    expect(model.batches).toEqual([1, 3]);
    await model.finishNext();
    expect(model.batches).toEqual([1, 3, 2]);
    await model.finishNext();
    const outputs = await Promise.all([first, ...rest]);
    expect(outputs.map((o) => o.output[0])).toEqual([2, 4, 6, 8, 10, 12]);
    expect(outputs.map((o) => o.batchSize)).toEqual([1, 3, 3, 3, 2, 2]);
  });

  it('keeps as many runs going as the model has threads, batching only what waits beyond them', async () => {
    const model = controllableRun();
    const batcher = new Batcher(model.run, { maxBatchSize: 8, maxWaitMs: 0, runsInFlight: 2 });
    const slots = [1, 2, 3, 4].map((v) => batcher.submit(tensor(v)));
    expect(model.batches).toEqual([1, 1]); // two lone images, side by side
    expect(model.inFlight).toBe(2);
    await model.finishNext();
    expect(model.batches).toEqual([1, 1, 2]); // a thread came free: what waited goes as one batch
    await model.finishNext();
    await model.finishNext();
    expect((await Promise.all(slots)).map((o) => o.output[0])).toEqual([2, 4, 6, 8]);
  });

  it('with gatherTurn, sends what one turn of the event loop submitted as one run, and a lone item after its turn', async () => {
    const model = controllableRun();
    const batcher = new Batcher(model.run, { maxBatchSize: 8, maxWaitMs: 0, gatherTurn: true });
    const together = [1, 2, 3].map((v) => batcher.submit(tensor(v)));
    expect(model.batches).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(model.batches).toEqual([3]);
    await model.finishNext();
    expect((await Promise.all(together)).map((o) => o.batchSize)).toEqual([3, 3, 3]);
    const lone = batcher.submit(tensor(4));
    await new Promise((r) => setImmediate(r));
    expect(model.batches).toEqual([3, 1]);
    await model.finishNext();
    await expect(lone).resolves.toMatchObject({ output: Float32Array.of(8), batchSize: 1 });
  });

  it('waits up to maxWaitMs for company when asked to, then runs what it has', async () => {
    jest.useFakeTimers();
    try {
      const model = controllableRun();
      const batcher = new Batcher(model.run, { maxBatchSize: 4, maxWaitMs: 5 });
      void batcher.submit(tensor(1));
      void batcher.submit(tensor(2));
      expect(model.batches).toEqual([]);
      jest.advanceTimersByTime(5);
      expect(model.batches).toEqual([2]);
    } finally {
      jest.useRealTimers();
    }
  });

  it('does not wait when a full batch is ready', () => {
    const model = controllableRun();
    const batcher = new Batcher(model.run, { maxBatchSize: 2, maxWaitMs: 1000 });
    void batcher.submit(tensor(1));
    void batcher.submit(tensor(2));
    expect(model.batches).toEqual([2]);
  });

  it('fails every image of a batch whose run fails, and keeps serving afterwards', async () => {
    let fail = true;
    const batcher = new Batcher(
      async (tensors) => {
        if (fail) throw new Error('runtime exploded');
        return tensors;
      },
      { maxBatchSize: 4, maxWaitMs: 0 },
    );
    await expect(batcher.submit(tensor(1))).rejects.toThrow('runtime exploded');
    fail = false;
    await expect(batcher.submit(tensor(7))).resolves.toMatchObject({ output: Float32Array.of(7) });
  });

  it('reports each batch size to its observer', async () => {
    const sizes: number[] = [];
    const batcher = new Batcher(async (t) => t, { maxBatchSize: 8, maxWaitMs: 0 }, (size) => sizes.push(size));
    await Promise.all([batcher.submit(tensor(1)), batcher.submit(tensor(2)), batcher.submit(tensor(3))]);
    expect(sizes).toEqual([1, 2]);
  });
});

import { AdaptiveBatcher, Limiter } from './pipeline';

const tick = () => new Promise((r) => setImmediate(r));

describe(Limiter.name, () => {
  it('lets at most `limit` run at once and the rest in arrival order', async () => {
    const limiter = new Limiter(2);
    const gates: (() => void)[] = [];
    const started: number[] = [];
    const runs = [0, 1, 2, 3].map((i) =>
      limiter.run(async () => {
        started.push(i);
        await new Promise<void>((r) => gates.push(r));
        return i;
      }),
    );
    await tick();
    expect(started).toEqual([0, 1]);
    gates.shift()?.();
    await tick();
    expect(started).toEqual([0, 1, 2]);
    while (gates.length > 0 || started.length < 4) {
      gates.shift()?.();
      await tick();
    }
    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3]);
  });

  it('frees the slot when the work throws', async () => {
    const limiter = new Limiter(1);
    await expect(limiter.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(limiter.run(() => Promise.resolve('next'))).resolves.toBe('next');
  });
});

describe(AdaptiveBatcher.name, () => {
  it('runs a lone image at once and what arrives meanwhile as the next batch', async () => {
    const release: (() => void)[] = [];
    const batcher = new AdaptiveBatcher(async (tensors) => {
      await new Promise<void>((r) => release.push(r));
      return tensors.map((t) => t.map((v) => v * 2));
    }, 3);
    const first = batcher.infer(Float32Array.of(1));
    await tick();
    const rest = [2, 3, 4, 5].map((v) => batcher.infer(Float32Array.of(v)));
    release.shift()?.();
    await tick();
    release.shift()?.();
    await tick();
    release.shift()?.();
    const outputs = await Promise.all([first, ...rest]);
    expect(outputs.map((o) => o[0])).toEqual([2, 4, 6, 8, 10]);
    expect(batcher.sizes).toEqual([1, 3, 1]);
  });

  it('fails every image of a batch whose run fails, and goes on with the next', async () => {
    let calls = 0;
    const batcher = new AdaptiveBatcher(async (tensors) => {
      calls++;
      if (calls === 1) throw new Error('run failed');
      return tensors;
    }, 8);
    await expect(batcher.infer(Float32Array.of(1))).rejects.toThrow('run failed');
    await expect(batcher.infer(Float32Array.of(2))).resolves.toEqual(Float32Array.of(2));
  });
});

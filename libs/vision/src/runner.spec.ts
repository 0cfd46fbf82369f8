import { testModelRepository } from '@argus/testing';
import { join } from 'node:path';
import type { RunPlan } from './model-core';
import { InlineRunner, ortSessionOptions, type Runner, RunnerPool, ThreadRunner } from './runner';
import { SharedSlots } from './slots';

const OPTIONS = { provider: 'cpu', intraOpThreads: 1, interOpThreads: 1, spinning: false };
const PLAN: RunPlan = { inputName: 'images', extraInputs: [], outputs: [{ name: 'output', size: 3549 * 85 }] };
const MODEL = () => join(testModelRepository(), 'yolox-nano', 'model.onnx');

/** A runner whose failure reports are collected. */
async function watched(): Promise<{ runner: ThreadRunner; failures: Error[] }> {
  const runner = await ThreadRunner.create(MODEL(), OPTIONS);
  const failures: Error[] = [];
  runner.onFailure((e) => failures.push(e));
  return { runner, failures };
}

/** Lets the thread's exit event arrive. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

describe(ThreadRunner.name, () => {
  it('moves a movable input to the thread instead of copying it', async () => {
    const runner = await ThreadRunner.create(MODEL(), OPTIONS);
    try {
      const input = new Float32Array(3 * 416 * 416).fill(0.5);
      const [out] = await runner.run(PLAN, input, [1, 3, 416, 416], true);
      expect(out?.dims).toEqual([1, 3549, 85]);
      expect(input.length).toBe(0); // moved away
    } finally {
      await runner.release();
    }
  });

  for (const [name, create] of [
    ['on its thread', (path: string) => ThreadRunner.create(path, OPTIONS)],
    ['inline', (path: string) => InlineRunner.create(path, OPTIONS)],
  ] as const) {
    it(`runs shared slots ${name}: each output lands in its own slot, as a plain run gives it`, async () => {
      const runner = await create(MODEL());
      try {
        const slots = new SharedSlots(3, 3 * 416 * 416, 3549 * 85);
        await runner.share(slots);
        // Three different inputs, run as a batch in an order unlike the slots' own.
        [0.2, 0.5, 0.8].forEach((v, i) => slots.input(i).fill(v));
        const dims = await runner.runSlots(PLAN, [2, 0, 1], [3, 3, 416, 416]);
        expect(dims).toEqual([[3, 3549, 85]]);
        for (const [i, v] of [0.2, 0.5, 0.8].entries()) {
          const [plain] = await runner.run(PLAN, new Float32Array(3 * 416 * 416).fill(v), [1, 3, 416, 416], false);
          expect(Buffer.from(slots.output(i).slice().buffer).equals(Buffer.from(plain?.data.slice().buffer ?? new ArrayBuffer(0)))).toBe(true);
        }
        expect(slots.output(0)).not.toEqual(slots.output(1));
      } finally {
        await runner.release();
      }
    });
  }

  it('refuses to run slots it was never given', async () => {
    const runner = await ThreadRunner.create(MODEL(), OPTIONS);
    try {
      await expect(runner.runSlots(PLAN, [0], [1, 3, 416, 416])).rejects.toThrow(/no shared slots/);
    } finally {
      await runner.release();
    }
  });

  it('writes nothing into the slots when the output does not fit them', async () => {
    const runner = await ThreadRunner.create(MODEL(), OPTIONS);
    try {
      const slots = new SharedSlots(1, 3 * 416 * 416, 1000);
      await runner.share(slots);
      slots.output(0).fill(7);
      await expect(runner.runSlots({ ...PLAN, outputs: [{ name: 'output', size: 1000 }] }, [0], [1, 3, 416, 416])).rejects.toThrow(
        /expected 1 x 1000 values/,
      );
      expect(slots.output(0).every((v) => v === 7)).toBe(true);
    } finally {
      await runner.release();
    }
  });

  it('reports a thread that dies on its own, and fails later runs with the reason', async () => {
    const { runner, failures } = await watched();
    await runner.kill();
    await settle();
    expect(failures).toEqual([expect.objectContaining({ message: expect.stringMatching(/inference thread exited/) })]);
    await expect(runner.run(PLAN, new Float32Array(3), [1, 3], false)).rejects.toThrow(/inference thread exited/);
    await runner.release();
    expect(failures).toHaveLength(1);
  });

  it('says nothing when released on purpose', async () => {
    const { runner, failures } = await watched();
    await runner.release();
    await settle();
    expect(failures).toEqual([]);
  });
});

describe(RunnerPool.name, () => {
  /** A fake runner whose runs the test finishes; records which runner got which call. */
  function fakes(n: number) {
    const calls: { runner: number; finish: () => void }[] = [];
    const released: number[] = [];
    const runners = Array.from({ length: n }, (_, i): Runner => ({
      inputs: [{ name: `in${i}`, shape: [] }],
      outputs: [],
      size: 1,
      run: () =>
        new Promise((resolve) => {
          calls.push({ runner: i, finish: () => resolve([{ name: 'o', type: 'float32', dims: [1], data: Float32Array.of(i) }]) });
        }),
      share: async () => undefined,
      runSlots: async () => [[1]],
      onFailure: () => undefined,
      release: async () => void released.push(i),
    }));
    return { runners, calls, released };
  }
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  it('gives a lone call the runner used last, so one thread stays warm at low load', async () => {
    const { runners, calls } = fakes(2);
    const pool = new RunnerPool(runners);
    for (let i = 0; i < 3; i++) {
      const run = pool.run(PLAN, new Float32Array(1), [1], false);
      await settle();
      calls[i]?.finish();
      await run;
    }
    expect(calls.map((c) => c.runner)).toEqual([0, 0, 0]);
  });

  it('gives each call an idle runner, and queues calls in arrival order while all are busy', async () => {
    const { runners, calls } = fakes(2);
    const pool = new RunnerPool(runners);
    expect(pool.size).toBe(2);
    expect(pool.inputs).toEqual([{ name: 'in0', shape: [] }]);
    const results = [1, 2, 3, 4].map(() => pool.run(PLAN, new Float32Array(1), [1], false));
    await settle();
    expect(calls.map((c) => c.runner)).toEqual([0, 1]); // two at once, two waiting
    calls[1]?.finish();
    await settle();
    expect(calls.map((c) => c.runner)).toEqual([0, 1, 1]); // the freed runner takes the next call
    calls[0]?.finish();
    await settle();
    expect(calls.map((c) => c.runner)).toEqual([0, 1, 1, 0]);
    calls[2]?.finish();
    calls[3]?.finish();
    expect((await Promise.all(results)).map((r) => r[0]?.data[0])).toEqual([0, 1, 1, 0]);
  });

  it('releases the runners it made when one of them cannot be made', async () => {
    const { runners, released } = fakes(2);
    let made = 0;
    const create = async () => {
      made += 1;
      if (made === 3) throw new Error('no memory for a third');
      return runners[made - 1] as Runner;
    };
    await expect(RunnerPool.create(3, create)).rejects.toThrow(/third/);
    expect(released.sort()).toEqual([0, 1]);
  });
});

describe(ortSessionOptions.name, () => {
  it('names the CUDA device in the CUDA provider\'s options, and leaves other providers as names', () => {
    expect(ortSessionOptions({ ...OPTIONS, provider: 'cuda', cudaDeviceId: 1 }).executionProviders).toEqual([{ name: 'cuda', deviceId: 1 }]);
    expect(ortSessionOptions({ ...OPTIONS, provider: 'cuda' }).executionProviders).toEqual(['cuda']);
    expect(ortSessionOptions({ ...OPTIONS, provider: 'cpu', cudaDeviceId: 1 }).executionProviders).toEqual(['cpu']);
  });

  it('keeps the thread counts and spinning in the options ONNX Runtime reads', () => {
    const options = ortSessionOptions({ provider: 'cpu', intraOpThreads: 2, interOpThreads: 0, spinning: true });
    expect(options).toMatchObject({ intraOpNumThreads: 2, extra: { session: { intra_op: { allow_spinning: '1' } } } });
    expect(options).not.toHaveProperty('interOpNumThreads');
  });
});

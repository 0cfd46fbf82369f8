import { testModelRepository } from '@argus/testing';
import { join } from 'node:path';
import { ThreadRunner } from './runner';

const OPTIONS = { provider: 'cpu', intraOpThreads: 1, interOpThreads: 1, spinning: false };
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
  it('gives the input buffer back with the output', async () => {
    const runner = await ThreadRunner.create(MODEL(), OPTIONS);
    try {
      const input = new Float32Array(3 * 416 * 416).fill(0.5);
      const { inputs, outputs } = runner;
      const out = await runner.run(inputs[0]?.name ?? '', outputs[0]?.name ?? '', input, [1, 3, 416, 416], true);
      expect(out.dims).toEqual([1, 3549, 85]);
      expect(input.length).toBe(0); // moved away
      expect(new Float32Array(out.input ?? new ArrayBuffer(0))[123]).toBe(0.5); // and back
    } finally {
      await runner.release();
    }
  });

  it('reports a thread that dies on its own, and fails later runs with the reason', async () => {
    const { runner, failures } = await watched();
    await runner.kill();
    await settle();
    expect(failures).toEqual([expect.objectContaining({ message: expect.stringMatching(/inference thread exited/) })]);
    await expect(runner.run('images', 'output', new Float32Array(3), [1, 3], false)).rejects.toThrow(/inference thread exited/);
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

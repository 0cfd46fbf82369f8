import { chooseBest, finalists, sessionShapes } from './bare';
import type { GridCell } from './report';
import { summarize } from './stats';

const cell = (inflight: number, threads: number, batching: boolean, imagesPerSec: number, p50: number): GridCell => ({
  model: 'yolox-nano',
  inflight,
  threads,
  modelThreads: 1,
  batching,
  imagesPerSec,
  latency: summarize([p50]),
  cpuCores: 1,
  otherCores: 0,
});

describe(chooseBest.name, () => {
  it('takes the most images/s, the lowest single-image p50, and the most images/s without batching', () => {
    const cells = [cell(1, 1, false, 30, 33), cell(1, 2, false, 28, 30), cell(2, 1, false, 40, 50), cell(4, 1, true, 45, 90), cell(4, 2, false, 35, 100)];
    const best = chooseBest('yolox-nano', [...cells, { ...cell(8, 8, true, 999, 1), model: 'other' }]);
    expect(best.throughput).toBe(cells[3]);
    expect(best.latency).toBe(cells[1]);
    expect(best.unbatched).toBe(cells[2]);
  });

  it('refuses a model the grid did not measure', () => {
    expect(() => chooseBest('nope', [cell(1, 1, false, 1, 1)])).toThrow(/no grid cells/);
  });
});

describe(finalists.name, () => {
  it('picks the two fastest, the fastest unbatched and the single-image cells, once each', () => {
    const a = cell(1, 1, false, 30, 33);
    const b = cell(1, 2, false, 28, 30);
    const c = cell(2, 1, false, 40, 50);
    const d = cell(4, 1, true, 45, 90);
    const e = cell(4, 2, true, 44, 100);
    expect(finalists([a, b, c, d, e])).toEqual([d, e, c, a, b]);
  });

  it('lets only the cells measured again compete once there are some', () => {
    const lucky = cell(4, 2, true, 60, 80);
    const steady = { ...cell(4, 1, false, 50, 80), final: { imagesPerSec: 48, latency: summarize([80]), otherCores: 0 } };
    const slow = { ...cell(4, 2, false, 55, 80), final: { imagesPerSec: 40, latency: summarize([80]), otherCores: 0 } };
    const one = { ...cell(1, 1, false, 30, 25), final: { imagesPerSec: 30, latency: summarize([27]), otherCores: 0 } };
    const two = { ...cell(1, 2, false, 30, 20), final: { imagesPerSec: 30, latency: summarize([29]), otherCores: 0 } };
    const best = chooseBest('yolox-nano', [lucky, steady, slow, one, two]);
    expect(best.throughput).toBe(steady);
    expect(best.latency).toBe(one);
  });
});

describe(sessionShapes.name, () => {
  it('tries each intra-op thread count on one model thread, and more model threads with one intra-op thread each', () => {
    expect(sessionShapes([1, 2], [1, 2])).toEqual([
      { threads: 1, modelThreads: 1 },
      { threads: 2, modelThreads: 1 },
      { threads: 1, modelThreads: 2 },
    ]);
    expect(sessionShapes([2], [1])).toEqual([{ threads: 2, modelThreads: 1 }]);
  });
});

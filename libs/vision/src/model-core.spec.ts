import { type OutputTensor, checkBatch } from './model-core';

const output = (dims: number[]): OutputTensor => ({ name: 'o', type: 'float32', dims, data: new Float32Array(dims.reduce((a, b) => a * b, 1)) });

describe(checkBatch.name, () => {
  it('accepts a batch of one with or without its batch dimension (DETR exports squeeze it out)', () => {
    expect(() => checkBatch([output([300]), output([300, 4])], 1, [300, 1200])).not.toThrow();
    expect(() => checkBatch([output([1, 300]), output([1, 300, 4])], 1, [300, 1200])).not.toThrow();
  });

  it('accepts a bigger batch only when every output leads with it', () => {
    expect(() => checkBatch([output([2, 300]), output([2, 300, 4])], 2, [300, 1200])).not.toThrow();
    // The right count, but the batch folded into the anchors: each image would get another's values.
    expect(() => checkBatch([output([1, 7098, 85])], 2, [3549 * 85])).toThrow(/output "o" is \[1, 7098, 85\] for a batch of 2; expected 2 x 301665 values/);
  });

  it('refuses an output whose size per image is not the expected one', () => {
    expect(() => checkBatch([output([300]), output([300, 5])], 1, [300, 1200])).toThrow(/is \[300, 5\] for a batch of 1; expected 1 x 1200 values/);
  });
});

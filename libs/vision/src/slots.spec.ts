import { ImageSlot, SharedSlots } from './slots';

describe(SharedSlots.name, () => {
  it('hands out each slot once until it is given back', () => {
    const slots = new SharedSlots(2, 4, 3);
    const a = slots.take();
    const b = slots.take();
    expect([a, b].sort()).toEqual([0, 1]);
    expect(slots.take()).toBeUndefined();
    expect(slots.available).toBe(0);
    slots.give(a as number);
    expect(slots.available).toBe(1);
    expect(slots.take()).toBe(a);
  });

  it('refuses to take back a slot that is not taken', () => {
    const slots = new SharedSlots(2, 4, 3);
    expect(() => slots.give(0)).toThrow(/not taken/);
    expect(() => slots.give(5)).toThrow(/not taken/);
  });

  it('lays every slot out as its input then its output, none overlapping, in one shared buffer', () => {
    const slots = new SharedSlots(3, 4, 3);
    expect(slots.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(slots.buffer.byteLength).toBe(3 * 7 * 4);
    for (let i = 0; i < 3; i++) {
      slots.input(i).fill(10 * i + 1);
      slots.output(i).fill(10 * i + 2);
    }
    const all = new Float32Array(slots.buffer);
    expect([...all]).toEqual([1, 1, 1, 1, 2, 2, 2, 11, 11, 11, 11, 12, 12, 12, 21, 21, 21, 21, 22, 22, 22]);
  });

  it('refuses an empty layout', () => {
    expect(() => new SharedSlots(0, 4, 3)).toThrow(RangeError);
    expect(() => new SharedSlots(2, 0, 3)).toThrow(RangeError);
  });
});

describe(ImageSlot.name, () => {
  it('gives its memory back once, however often it is released, and forgets its output', () => {
    let given = 0;
    const slot = new ImageSlot(new Float32Array(2), 4, () => given++);
    slot.output = new Float32Array(1);
    expect(slot.shared).toBe(true);
    slot.release();
    slot.release();
    expect(given).toBe(1);
    expect(slot.output).toBeUndefined();
    expect(new ImageSlot(new Float32Array(2), undefined).shared).toBe(false);
  });
});

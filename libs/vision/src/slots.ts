/**
 * Memory for the images a session has in flight, shared with the model's thread: each slot holds
 * one image's input tensor and, after its run, the model's output for it. Filling a slot and
 * reading its output allocate nothing. Moving tensors between threads instead makes new
 * ArrayBuffers on both sides for every image (an input of 2 MB and an output of 1.2 MB for
 * yolox-nano), and V8 answers that much external memory with a full garbage collection every few
 * hundred milliseconds (docs/performance.md).
 */
export class SharedSlots {
  readonly buffer: SharedArrayBuffer;
  private readonly free: number[];
  private readonly inputs: Float32Array[] = [];
  private readonly outputs: Float32Array[] = [];

  constructor(
    readonly count: number,
    /** Floats of one image's input tensor. */
    readonly inputFloats: number,
    /** Floats of one image's output. */
    readonly outputFloats: number,
  ) {
    if (!(Number.isInteger(count) && count > 0 && inputFloats > 0 && outputFloats > 0)) {
      throw new RangeError(`shared slots need a positive count and sizes, not ${count} x (${inputFloats} + ${outputFloats})`);
    }
    this.buffer = new SharedArrayBuffer(count * this.stride * Float32Array.BYTES_PER_ELEMENT);
    for (let i = 0; i < count; i++) {
      const base = i * this.stride * Float32Array.BYTES_PER_ELEMENT;
      this.inputs.push(new Float32Array(this.buffer, base, inputFloats));
      this.outputs.push(new Float32Array(this.buffer, base + inputFloats * Float32Array.BYTES_PER_ELEMENT, outputFloats));
    }
    // Popped from the end: slot 0 first, so a quiet process keeps touching the same memory.
    this.free = Array.from({ length: count }, (_, i) => count - 1 - i);
  }

  /** Floats from one slot's start to the next's: its input, then its output. */
  get stride(): number {
    return this.inputFloats + this.outputFloats;
  }

  /** Slots nobody holds right now. */
  get available(): number {
    return this.free.length;
  }

  /** A free slot's index, or undefined when all are taken. */
  take(): number | undefined {
    return this.free.pop();
  }

  /** Frees a slot taken earlier. */
  give(index: number): void {
    if (!(index >= 0 && index < this.count) || this.free.includes(index)) throw new RangeError(`slot ${index} is not taken`);
    this.free.push(index);
  }

  /** The input tensor of a slot (a view into the shared memory). */
  input(index: number): Float32Array {
    return this.at(this.inputs, index);
  }

  /** The output of a slot (a view into the shared memory). */
  output(index: number): Float32Array {
    return this.at(this.outputs, index);
  }

  private at(list: Float32Array[], index: number): Float32Array {
    const view = list[index];
    if (!view) throw new RangeError(`no slot ${index} (there are ${this.count})`);
    return view;
  }
}

/**
 * One image on its way through a session: fill {@link input}, run it (DetectorSession.runSlots),
 * read {@link output}, then {@link release} it. In shared memory when a slot was free, else in
 * memory of its own; the caller cannot tell, except that a shared one must not be used after
 * release.
 */
export class ImageSlot {
  /** The model's output for this image, once it has run. */
  output: Float32Array | undefined;
  private released = false;

  constructor(
    readonly input: Float32Array,
    /** The shared slot's index, or undefined for memory of its own. */
    readonly index: number | undefined,
    private readonly onRelease: () => void = () => undefined,
  ) {}

  /** Whether the tensor lives in the session's shared slots. */
  get shared(): boolean {
    return this.index !== undefined;
  }

  /** Hands the memory back (idempotent). */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.output = undefined;
    this.onRelease();
  }
}

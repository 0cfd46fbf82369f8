import { availableParallelism } from 'node:os';

/**
 * ONNX Runtime's intra-op threads for a serving process: as configured, or (0) half the CPUs, at
 * least one. ONNX Runtime's own default takes every core, which leaves sharp's decoding (the other
 * half of each job) fighting the model for them; measured in docs/performance.md.
 */
export function intraOpThreads(configured: number, cpus = availableParallelism()): number {
  return configured > 0 ? configured : Math.max(1, Math.floor(cpus / 2));
}

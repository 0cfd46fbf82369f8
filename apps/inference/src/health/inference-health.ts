import type { HealthCheck } from '@argus/observability';
import type { Redis } from 'ioredis';
import type { DetectProcessor } from '../detect/detect.processor';
import type { ModelHost } from '../models/model-host.service';

/** Ready: at least one model serving (each model's state in the detail), none refused for its provider; a worker taking jobs; Redis answering. */
export function inferenceHealthChecks(models: ModelHost, processor: DetectProcessor, redis: Redis): HealthCheck[] {
  return [
    { name: 'models', check: () => Promise.resolve(models.readiness()) },
    { name: 'worker', check: () => Promise.resolve({ ok: processor.running(), detail: processor.running() ? 'taking jobs' : 'not started' }) },
    { name: 'redis', check: async () => ({ ok: (await redis.ping()) === 'PONG' }) },
  ];
}

import {
  formatModelSelector,
  type HostedModelStatus,
  type ModelAction,
  type ModelControl,
  type ModelInfo,
  ModelInfoSchema,
  type ModelSelector,
  type WorkerHeartbeat,
  WorkerHeartbeatSchema,
} from '@argus/contracts';
import type { Redis } from 'ioredis';
import type { ArgusKeys } from './keys';

/** How long the heartbeat of a process that stopped is kept (for diagnosis) before it is dropped. */
const DEAD_WORKER_KEPT_MS = 10 * 60 * 1000;

/** A process's heartbeat with its id. */
export type WorkerView = WorkerHeartbeat & { id: string };

/**
 * What inference processes serve and what operators want of them, in Redis:
 * - `<prefix>:model-versions`: `name@version` -> {@link ModelInfo}, the description of each
 *   version some process loaded (labels, defaults, digest, weight), read by gateways to take
 *   requests. Keyed by version, so processes holding different versions never overwrite each
 *   other. An entry stays while its model is in the repository, even with no process live (a pool
 *   scaled to zero still takes jobs); it goes once the version is gone from the repository and no
 *   live process holds it.
 * - `<prefix>:workers`: process id -> {@link WorkerHeartbeat}, each process's models and versions
 *   with their states; an entry counts until its `expiresAt`.
 * - `<prefix>:model-control`: the operators' wishes ({@link ModelControl}), with a pub/sub nudge
 *   on the channel of the same name so processes apply them at once rather than at their next poll.
 */
export class ModelRegistry {
  private subscriber: Redis | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly keys: ArgusKeys,
  ) {}

  /**
   * Publishes a process's heartbeat (its models and versions, counting for `ttlSeconds`) and the
   * descriptions of the versions it serves; drops heartbeats of processes that stopped long ago.
   */
  async publish(workerId: string, models: readonly HostedModelStatus[], descriptions: readonly ModelInfo[], ttlSeconds: number): Promise<void> {
    const now = Date.now();
    const heartbeat: WorkerHeartbeat = { models: [...models], at: new Date(now).toISOString(), expiresAt: now + ttlSeconds * 1000 };
    const pipeline = this.redis.pipeline();
    // Descriptions first: a gateway that sees a version serving finds its labels.
    for (const info of descriptions) pipeline.hset(this.keys.modelVersions(), formatModelSelector(info), JSON.stringify(info));
    pipeline.hset(this.keys.workers(), workerId, JSON.stringify(heartbeat));
    const replies = await pipeline.exec();
    const failed = replies?.find(([error]) => error);
    if (failed?.[0]) throw failed[0];
    const dead = (await this.heartbeats()).filter((w) => w.expiresAt < now - DEAD_WORKER_KEPT_MS).map((w) => w.id);
    if (dead.length > 0) await this.redis.hdel(this.keys.workers(), ...dead);
  }

  /**
   * Drops the descriptions of versions gone from the repository that no other live process holds
   * (in any state). Call after publishing a heartbeat without them: of two processes dropping the
   * same version at once, the later one then sees the other's heartbeat without it too.
   */
  async withdraw(workerId: string, versions: readonly Required<ModelSelector>[]): Promise<string[]> {
    if (versions.length === 0) return [];
    const others = (await this.liveWorkers()).filter((w) => w.id !== workerId);
    const held = new Set(others.flatMap((w) => w.models.flatMap((m) => m.versions.map((v) => formatModelSelector({ name: m.name, version: v.version })))));
    const gone = versions.map(formatModelSelector).filter((selector) => !held.has(selector));
    if (gone.length > 0) await this.redis.hdel(this.keys.modelVersions(), ...gone);
    return gone;
  }

  /** Removes a process's heartbeat (on shutdown). Its descriptions stay: its pool may start again. */
  async withdrawWorker(workerId: string): Promise<void> {
    await this.redis.hdel(this.keys.workers(), workerId);
  }

  /** The published version descriptions, by model name then version. */
  async versions(): Promise<ModelInfo[]> {
    const all = await this.redis.hgetall(this.keys.modelVersions());
    const infos: ModelInfo[] = [];
    for (const value of Object.values(all)) {
      const parsed = ModelInfoSchema.safeParse(safeJson(value));
      if (parsed.success) infos.push(parsed.data);
    }
    return infos.sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
  }

  /** The names of the models published (each has a detection queue). */
  async modelNames(): Promise<string[]> {
    return [...new Set((await this.versions()).map((v) => v.name))].sort();
  }

  /** Live inference processes (heartbeats not yet expired), with what each holds. One read. */
  async liveWorkers(): Promise<WorkerView[]> {
    const now = Date.now();
    return (await this.heartbeats()).filter((w) => w.expiresAt >= now);
  }

  /** Every heartbeat kept: live processes and those that stopped in the last minutes. */
  async heartbeats(): Promise<WorkerView[]> {
    const all = await this.redis.hgetall(this.keys.workers());
    const out: WorkerView[] = [];
    for (const [id, value] of Object.entries(all)) {
      const parsed = WorkerHeartbeatSchema.safeParse(safeJson(value));
      if (parsed.success) out.push({ id, ...parsed.data });
    }
    return out.sort((a, b) => a.id.localeCompare(b.id));
  }

  /** The operators' wishes. */
  async control(): Promise<ModelControl> {
    return parseControl(await this.redis.hgetall(this.keys.modelControl()));
  }

  /**
   * Records an operator's wish and nudges every process: `unload` is kept until a `load` of the
   * same selector (a model's load also clears its versions' unloads); `load` and `reload` count up,
   * and processes act on counts above the ones they have seen (a load retries what failed, a
   * reload reads the files again).
   */
  async request(action: ModelAction, selector: ModelSelector): Promise<ModelControl> {
    const key = this.keys.modelControl();
    const field = formatModelSelector(selector);
    const multi = this.redis.multi();
    if (action === 'unload') multi.hset(key, `unload:${field}`, new Date().toISOString());
    else if (action === 'reload') multi.hincrby(key, `reload:${field}`, 1);
    else {
      const fields = Object.keys(await this.redis.hgetall(key));
      const cleared = fields.filter((f) => f === `unload:${field}` || (selector.version === undefined && f.startsWith(`unload:${selector.name}@`)));
      if (cleared.length > 0) multi.hdel(key, ...cleared);
      multi.hincrby(key, `load:${field}`, 1);
    }
    multi.hgetall(key);
    multi.publish(this.keys.modelControl(), field);
    const replies = await multi.exec();
    const failed = replies?.find(([error]) => error);
    if (failed?.[0]) throw failed[0];
    return parseControl((replies?.at(-2)?.[1] ?? {}) as Record<string, string>);
  }

  /** Calls `onNudge` whenever an operator's wish is recorded (on a connection of its own: a subscribed connection does nothing else). */
  async subscribe(onNudge: () => void): Promise<void> {
    if (this.subscriber) return;
    const subscriber = this.redis.duplicate({ connectionName: `${this.redis.options.connectionName ?? 'argus'}:model-control`, maxRetriesPerRequest: null });
    this.subscriber = subscriber;
    subscriber.on('error', () => undefined); // the main connection logs Redis trouble already
    subscriber.on('message', () => onNudge());
    await subscriber.subscribe(this.keys.modelControl());
  }

  /** Closes the subscription, if any. */
  close(): void {
    this.subscriber?.disconnect();
    this.subscriber = undefined;
  }
}

/** The control hash's fields: `unload:<selector>` (when), `load:<selector>` and `reload:<selector>` (counts). */
export function parseControl(fields: Record<string, string>): ModelControl {
  const control: ModelControl = { unloaded: [], loads: {}, reloads: {} };
  for (const [field, value] of Object.entries(fields)) {
    const colon = field.indexOf(':');
    const kind = field.slice(0, colon);
    const selector = field.slice(colon + 1);
    if (kind === 'unload') control.unloaded.push(selector);
    else if (kind === 'load' || kind === 'reload') {
      const count = Number(value);
      if (Number.isFinite(count)) (kind === 'load' ? control.loads : control.reloads)[selector] = count;
    }
  }
  control.unloaded.sort();
  return control;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

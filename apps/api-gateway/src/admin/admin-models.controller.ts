import { ModelRegistry } from '@argus/broker';
import { type AdminModelsView, formatModelSelector, type ModelAction, ModelActionSchema, type ModelControl, parseModelSelector } from '@argus/contracts';
import { Controller, Get, HttpCode, Logger, Param, Post } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { ApiError } from '../errors/api-error';
import { ModelCatalog } from '../models/model-catalog.service';

/** Where the models admin API lives (behind the admin's basic auth, like Bull Board; the Ingress does not route /admin). */
export const ADMIN_MODELS_PATH = 'admin/models';

/** What a load, unload or reload request answers: what was asked, and the wishes every process now applies. */
export interface ModelActionReply {
  action: ModelAction;
  model: string;
  version: string | null;
  control: ModelControl;
}

/**
 * Operators load, unload and reload models and versions while Argus runs. The inference
 * processes hold no admin credentials (they parse untrusted images), so the wish goes through
 * Redis: the control hash every process applies at its next pass, with a nudge that starts that
 * pass at once. An unload stays until a load; a reload reads the files again; a load also retries
 * versions that failed. Not in the OpenAPI document, as Bull Board is not: /admin is for
 * operators, not API clients (docs/api.md describes it).
 */
@ApiExcludeController()
@Controller(ADMIN_MODELS_PATH)
export class AdminModelsController {
  private readonly logger = new Logger(AdminModelsController.name);

  constructor(
    private readonly catalog: ModelCatalog,
    private readonly registry: ModelRegistry,
  ) {}

  /** Every inference process's view (per model and version: state, reason, digest, loaded at, jobs in flight) and the operators' wishes. */
  @Get()
  async list(): Promise<AdminModelsView> {
    const [processes, control] = await redisOr503(() => Promise.all([this.catalog.processes(), this.registry.control()]));
    return { processes, control };
  }

  /** `POST /admin/models/<name>[@<version>]/(load|unload|reload)`: 202 once recorded; GET shows when each process has applied it. */
  @Post(':selector/:action')
  @HttpCode(202)
  async act(@Param('selector') text: string, @Param('action') actionText: string): Promise<ModelActionReply> {
    const action = ModelActionSchema.safeParse(actionText);
    if (!action.success) throw new ApiError('not_found', `No action "${actionText}"; use load, unload or reload`);
    const selector = parseModelSelector(text);
    if (!selector) throw new ApiError('validation_failed', `"${text}" is not a model name or name@version`);
    const [processes, versions, control] = await redisOr503(() => Promise.all([this.registry.heartbeats(), this.registry.versions(), this.registry.control()]));
    // Known: some process reports it, a description names it, or an operator already acted on it.
    const known = (name: string, version?: string) =>
      processes.some((p) => p.models.some((m) => m.name === name && (version === undefined || m.versions.some((v) => v.version === version)))) ||
      versions.some((d) => d.name === name && (version === undefined || d.version === version)) ||
      [...control.unloaded, ...Object.keys(control.loads), ...Object.keys(control.reloads)].includes(formatModelSelector({ name, ...(version !== undefined ? { version } : {}) }));
    if (!known(selector.name)) throw new ApiError('not_found', `No inference process knows model "${selector.name}"`);
    if (selector.version !== undefined && !known(selector.name, selector.version)) {
      throw new ApiError('not_found', `No inference process knows version "${selector.version}" of model "${selector.name}"`);
    }
    const next = await redisOr503(() => this.registry.request(action.data, selector));
    this.logger.log({ msg: 'model change asked for', action: action.data, model: selector.name, version: selector.version ?? null });
    return { action: action.data, model: selector.name, version: selector.version ?? null, control: next };
  }
}

/** Redis trouble is a 503 the operator can retry, not a 500. */
async function redisOr503<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw new ApiError('unavailable', `Redis is unavailable (${error instanceof Error ? error.message : String(error)}); retry shortly`, { 'Retry-After': '2' });
  }
}

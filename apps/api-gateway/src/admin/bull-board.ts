import { DetectJobs } from '@argus/broker';
import { ARGUS_CONFIG, type ArgusConfig } from '@argus/config';
import { detectQueueName, QueueName } from '@argus/contracts';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Queue } from 'bullmq';
import type { Express } from 'express';
import { ModelCatalog } from '../models/model-catalog.service';
import { AdminAuth } from './admin-auth';

/** Where the board lives. */
export const BOARD_PATH = '/admin/queues';
/** How often the board looks for models added since (each has a detection queue of its own). */
const REFRESH_MS = 10_000;

/**
 * Bull Board for every queue of the fabric: each model's detection queue, `results`,
 * `maintenance`, `batches` and `webhooks`, behind the admin's basic auth, with BullMQ's retry, promote and clean actions
 * (an admin retrying a persist job that failed for good is how it gets persisted once the cause
 * is fixed; retrying a detection ends its work again, which persists nobody twice: rows are keyed
 * by request id). Failed sign-ins are limited per client address (ADMIN_MAX_FAILED_LOGINS per
 * ADMIN_FAILED_LOGIN_WINDOW_SECONDS). Without ADMIN_USER and ADMIN_PASSWORD nothing is mounted,
 * so the path answers 404: an unconfigured board is off, not open.
 */
@Injectable()
export class BullBoardMount implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(BullBoardMount.name);
  private timer: NodeJS.Timeout | undefined;
  private shown = '';

  constructor(
    private readonly host: HttpAdapterHost,
    @Inject(ARGUS_CONFIG) private readonly config: ArgusConfig,
    private readonly detect: DetectJobs,
    private readonly catalog: ModelCatalog,
    @InjectQueue(QueueName.Results) private readonly results: Queue,
    @InjectQueue(QueueName.Maintenance) private readonly maintenance: Queue,
    private readonly auth: AdminAuth,
    @InjectQueue(QueueName.Batches) private readonly batches: Queue,
    @InjectQueue(QueueName.Webhooks) private readonly webhooks: Queue,
  ) {}

  onModuleInit(): void {
    const admin = this.config.admin;
    if (!admin) {
      this.logger.log({ msg: 'Bull Board is off: set ADMIN_USER and ADMIN_PASSWORD to enable it', path: BOARD_PATH });
      return;
    }
    const server = new ExpressAdapter();
    server.setBasePath(BOARD_PATH);
    const board = createBullBoard({ queues: this.adapters([]), serverAdapter: server, options: { uiConfig: { boardTitle: 'Argus queues' } } });
    const refresh = async () => {
      const models = await this.catalog.names();
      const key = models.join(',');
      if (key === this.shown) return;
      this.shown = key;
      board.replaceQueues(this.adapters(models));
      this.logger.log({ msg: 'Bull Board queues', queues: [...models.map(detectQueueName), QueueName.Results, QueueName.Maintenance, QueueName.Batches, QueueName.Webhooks] });
    };
    const tick = () => void refresh().catch((error: unknown) => this.logger.warn({ msg: 'Bull Board could not list the models', error: error instanceof Error ? error.message : String(error) }));
    tick();
    this.timer = setInterval(tick, REFRESH_MS);
    this.timer.unref();
    const app = this.host.httpAdapter.getInstance<Express>();
    app.use(BOARD_PATH, this.auth.middleware('Argus queues'), server.getRouter() as Express);
    this.logger.log({ msg: 'Bull Board mounted', path: BOARD_PATH });
  }

  private adapters(models: string[]): BullMQAdapter[] {
    const prefix = this.config.redis.prefix;
    return [
      ...models.map(
        (model) =>
          new BullMQAdapter(this.detect.queue(model), { displayName: `${prefix}:${detectQueueName(model)}`, description: `Detection work for model ${model}, by priority` }),
      ),
      new BullMQAdapter(this.results, { displayName: `${prefix}:${QueueName.Results}`, description: 'Requests whose work ended, to persist in Postgres (apps/results)' }),
      new BullMQAdapter(this.maintenance, { displayName: `${prefix}:${QueueName.Maintenance}`, description: 'Scheduled upkeep in apps/results: the reconciler, retention' }),
      new BullMQAdapter(this.batches, { displayName: `${prefix}:${QueueName.Batches}`, description: 'Batches: a parent per batch, a child per image that ends when its detection ends' }),
      new BullMQAdapter(this.webhooks, { displayName: `${prefix}:${QueueName.Webhooks}`, description: 'Signed webhook deliveries to callback URLs; failed ones keep the receiver\'s answer' }),
    ];
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

import { DETECT_QUEUE, type DetectQueue, REDIS } from '@argus/broker';
import { ARGUS_CONFIG, type ArgusConfig } from '@argus/config';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Express } from 'express';
import type { Redis } from 'ioredis';
import { basicAuth } from './basic-auth';
import { RedisLoginLimiter } from './login-limiter';

/** Where the board lives. */
export const BOARD_PATH = '/admin/queues';

/**
 * Bull Board for the detection queue, behind the admin's basic auth, with failed sign-ins
 * limited per client address (ADMIN_MAX_FAILED_LOGINS per ADMIN_FAILED_LOGIN_WINDOW_SECONDS).
 * Without ADMIN_USER and ADMIN_PASSWORD nothing is mounted, so the path answers 404: an
 * unconfigured board is off, not open. Mounted on the Express instance at module init, after
 * Nest's routes and before its 404 handler.
 */
@Injectable()
export class BullBoardMount implements OnModuleInit {
  private readonly logger = new Logger(BullBoardMount.name);

  constructor(
    private readonly host: HttpAdapterHost,
    @Inject(ARGUS_CONFIG) private readonly config: ArgusConfig,
    @Inject(DETECT_QUEUE) private readonly detect: DetectQueue,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  onModuleInit(): void {
    const admin = this.config.admin;
    if (!admin) {
      this.logger.log({ msg: 'Bull Board is off: set ADMIN_USER and ADMIN_PASSWORD to enable it', path: BOARD_PATH });
      return;
    }
    const prefix = this.config.redis.prefix;
    const server = new ExpressAdapter();
    server.setBasePath(BOARD_PATH);
    createBullBoard({
      queues: [
        // Read-only: retrying a detection job by hand would report a second outcome for requests
        // already answered; the pipeline retries with backoff by itself.
        new BullMQAdapter(this.detect, {
          readOnlyMode: true,
          displayName: `${prefix}:detect`,
          description: 'Detection work: gateway -> inference workers, by priority',
        }),
      ],
      serverAdapter: server,
      options: { uiConfig: { boardTitle: 'Argus queues' } },
    });
    const app = this.host.httpAdapter.getInstance<Express>();
    const limiter = new RedisLoginLimiter(this.redis, prefix, this.config.adminLogins);
    app.use(BOARD_PATH, basicAuth(admin, 'Argus queues', limiter), server.getRouter() as Express);
    this.logger.log({ msg: 'Bull Board mounted', path: BOARD_PATH, queues: [`${prefix}:detect`] });
  }
}

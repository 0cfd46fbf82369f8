import { type BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { NextFunction, Request, Response } from 'express';
import type { Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { isOperationalPath } from './protected-paths';
import { sendApiError } from './respond';
import { ApiError } from '../errors/api-error';

/** How long in-flight requests get to finish after SIGTERM before their connections are cut (event streams). */
export const DRAIN_TIMEOUT_MS = 10_000;

/**
 * Graceful shutdown of the gateway. On SIGTERM (before Nest closes the HTTP server and Redis):
 * readiness turns 503, new requests get 503 + Retry-After + Connection: close, requests waiting
 * for a result (`wait`) are answered at once with 202 and their id (the job is durable, the
 * client polls another replica), and the rest finish. Whatever is still open after
 * DRAIN_TIMEOUT_MS (a Server-Sent Events stream) is closed.
 */
@Injectable()
export class Drain implements BeforeApplicationShutdown {
  private readonly logger = new Logger(Drain.name);
  private readonly inFlight = new Set<Response>();
  private draining = false;
  private release: () => void = () => undefined;
  private readonly released = new Promise<null>((resolve) => {
    this.release = () => resolve(null);
  });

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  /** True once SIGTERM has been received. */
  get active(): boolean {
    return this.draining;
  }

  /** Requests being handled now. */
  get pending(): number {
    return this.inFlight.size;
  }

  /** A wait for a job that gives up (null: answer 202) as soon as draining starts. */
  race<T>(wait: Promise<T | null>): Promise<T | null> {
    return this.draining ? Promise.resolve(null) : Promise.race([wait, this.released]);
  }

  readonly middleware = (req: Request, res: Response, next: NextFunction): void => {
    if (this.draining && !isOperationalPath(req.path)) {
      res.setHeader('Connection', 'close');
      sendApiError(res, new ApiError('unavailable', 'This gateway is shutting down; retry (another replica will answer)', { 'Retry-After': '1' }));
      return;
    }
    this.inFlight.add(res);
    const done = () => this.inFlight.delete(res);
    res.once('finish', done);
    res.once('close', done);
    next();
  };

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.draining = true;
    const started = Date.now();
    this.logger.log({ msg: 'draining: refusing new requests, finishing the ones in flight', signal, inFlight: this.inFlight.size });
    // Responses still to be written close their connection afterwards, so server.close() is not
    // held up by keep-alive connections.
    for (const res of this.inFlight) if (!res.headersSent) res.shouldKeepAlive = false;
    this.release();
    while (this.inFlight.size > 0 && Date.now() - started < DRAIN_TIMEOUT_MS) await sleep(20);
    if (this.inFlight.size > 0) {
      this.logger.warn({ msg: 'drain timeout: closing the connections still open', open: this.inFlight.size });
      (this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined)?.closeAllConnections();
    }
    (this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined)?.closeIdleConnections();
    this.logger.log({ msg: 'drained', ms: Date.now() - started });
  }
}

import { ARGUS_CONFIG, type ArgusConfig } from '@argus/config';
import { type BeforeApplicationShutdown, Controller, Get, Headers, Inject, Logger, Param, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ApiDetectionEvents, ApiV1 } from '../docs/decorators';
import { toApiError } from '../errors/error.filter';
import { contextOf, readScopeOf } from '../http/request-context';
import { DetectionEvents, type DetectionWatch } from './detection-events.service';
import { detectionEventMessage, RESULT_EVENT_ID, SSE_HEARTBEAT, sseMessage } from './sse';

@ApiV1('detections')
@Controller('v1/detections')
export class DetectionEventsController implements BeforeApplicationShutdown {
  private readonly logger = new Logger(DetectionEventsController.name);
  /** Streams open now: ended at shutdown, so the drain need not wait for them (clients reconnect elsewhere). */
  private readonly open = new Set<DetectionWatch>();

  constructor(
    private readonly events: DetectionEvents,
    @Inject(ARGUS_CONFIG) private readonly config: ArgusConfig,
  ) {}

  /**
   * Server-Sent Events: `status` at once and at each change (queued, active, completed or
   * failed), then `result` with the detection's final view, then the stream ends. Heartbeat
   * comments keep it open meanwhile. Unknown ids answer a JSON 404 before any event.
   */
  @Get(':id/events')
  @ApiDetectionEvents()
  async stream(@Param('id') id: string, @Headers('last-event-id') lastEventId: string | undefined, @Req() req: Request, @Res() res: Response): Promise<void> {
    // EventSource reconnects whenever a stream ends; one that has seen the result is told to stop.
    if (lastEventId === RESULT_EVENT_ID) {
      res.status(204).end();
      return;
    }
    const watch = await this.events.open(id, readScopeOf(contextOf(req)));
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('Connection', 'keep-alive');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    res.write('retry: 3000\n\n');
    const heartbeat = setInterval(() => res.write(SSE_HEARTBEAT), this.config.events.heartbeatMs);
    const onClose = () => watch.close();
    res.on('close', onClose);
    this.open.add(watch);
    let sequence = 0;
    try {
      for await (const event of watch) {
        if (res.writableEnded || res.destroyed) break;
        res.write(detectionEventMessage(event, ++sequence));
      }
    } catch (error) {
      const apiError = toApiError(error);
      this.logger.warn({ msg: 'event stream failed', id, code: apiError.code, error: error instanceof Error ? error.message : String(error) });
      if (!res.writableEnded && !res.destroyed) res.write(sseMessage('error', apiError.body()));
    } finally {
      clearInterval(heartbeat);
      this.open.delete(watch);
      res.off('close', onClose);
      watch.close();
      if (!res.writableEnded) res.end();
    }
  }

  /** Ends every open stream: an EventSource reconnects (to another replica) and gets the current state. */
  beforeApplicationShutdown(): void {
    for (const watch of this.open) watch.close();
  }
}

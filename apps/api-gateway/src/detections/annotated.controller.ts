import { ArgusStore } from '@argus/broker';
import { ARGUS_CONFIG, type ArgusConfig } from '@argus/config';
import type { DetectionView, ReadScope } from '@argus/contracts';
import { Controller, Get, Inject, Param, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { ApiAnnotated, ApiV1 } from '../docs/decorators';
import { ApiError } from '../errors/api-error';
import { contextOf, readScopeOf } from '../http/request-context';
import { chooseFormat, FORMAT_TYPES, renderAnnotated } from './annotate';
import { DetectionEvents } from './detection-events.service';
import { DetectionStatus } from './detection-status.service';

@ApiV1('detections')
@Controller('v1/detections')
export class AnnotatedController {
  constructor(
    private readonly status: DetectionStatus,
    private readonly events: DetectionEvents,
    private readonly store: ArgusStore,
    @Inject(ARGUS_CONFIG) private readonly config: ArgusConfig,
  ) {}

  /**
   * The original photo with labelled boxes drawn, PNG or JPEG (`?format=png|jpeg`, else Accept).
   * The photo stays in Redis IMAGE_RETENTION_SECONDS after its job ends: 410 image_expired after.
   * `?wait=ms` waits for a detection still in progress (up to WAIT_MAX_MS).
   */
  @Get(':id/annotated')
  @ApiAnnotated()
  async annotated(
    @Param('id') id: string,
    @Query('format') format: string | undefined,
    @Query('wait') wait: string | undefined,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const waitMs = parseWait(wait, this.config.limits.maxWaitMs);
    const view = await this.finished(id, readScopeOf(contextOf(req)), waitMs);
    if (view.status === 'failed') {
      const error = view.error ?? { code: 'inference_failed', message: 'unknown failure' };
      throw new ApiError(error.code, `Detection ${id} failed, so there is nothing to draw: ${error.message}`);
    }
    if (view.status !== 'completed') {
      throw new ApiError(
        'not_ready',
        `Detection ${id} is ${view.status}; its annotated image exists once it completes (pass ?wait=ms, or follow /v1/detections/${id}/events)`,
        { 'Retry-After': '1' },
      );
    }
    const image = await this.store.getImage(view.image.sha256);
    if (!image) {
      throw new ApiError('image_expired', `The photo of detection ${id} is no longer kept (images stay ${this.config.retention.imageRetentionSeconds} s after their job ends)`);
    }
    const isJpeg = image[0] === 0xff && image[1] === 0xd8;
    const chosen = chooseFormat(format, (types) => req.accepts(types), isJpeg);
    if (chosen === 'bad-query') throw new ApiError('validation_failed', `format must be png, jpeg or jpg, not "${format}"`);
    if (chosen === null) throw new ApiError('validation_failed', 'The annotated image is image/png or image/jpeg; the Accept header allows neither', {}, 406);
    const rendered = await renderAnnotated(image, view.detections, chosen, { maxBytes: this.config.limits.maxImageBytes, maxPixels: this.config.limits.maxImagePixels });
    res.status(200);
    res.setHeader('Content-Type', FORMAT_TYPES[chosen]);
    res.setHeader('Content-Length', String(rendered.data.length));
    res.setHeader('Content-Disposition', `inline; filename="${id}.${chosen === 'png' ? 'png' : 'jpg'}"`);
    res.setHeader('Cache-Control', 'private, max-age=300');
    res.setHeader('Vary', 'Accept');
    res.end(rendered.data);
  }

  private async finished(id: string, scope: ReadScope, waitMs: number): Promise<DetectionView> {
    const view = await this.status.get(id, scope);
    if (view.status === 'completed' || view.status === 'failed' || waitMs <= 0) return view;
    const watch = await this.events.open(id, scope);
    const timer = setTimeout(() => watch.close(), waitMs);
    try {
      for await (const event of watch) if (event.type === 'result') return event.detection;
    } finally {
      clearTimeout(timer);
      watch.close();
    }
    return this.status.get(id, scope);
  }
}

function parseWait(value: string | undefined, max: number): number {
  if (value === undefined || value === '') return 0;
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms < 0) throw new ApiError('validation_failed', `wait must be a whole number of milliseconds, not "${value}"`);
  return Math.min(ms, max);
}

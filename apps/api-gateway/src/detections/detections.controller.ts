import { Body, Controller, Get, Headers, Param, Post, Query, Req, Res, UploadedFile, UseInterceptors } from '@nestjs/common';
import { FileInterceptor } from '@nestjs/platform-express';
import type { Request, Response } from 'express';
import { ApiGetDetection, ApiSubmitDetection, ApiV1 } from '../docs/decorators';
import { ApiError } from '../errors/api-error';
import { contextOf, readScopeOf } from '../http/request-context';
import { DetectionStatus } from './detection-status.service';
import { DetectionsService } from './detections.service';
import { parseSubmitFields } from './submit-params';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

@ApiV1('detections')
@Controller('v1/detections')
export class DetectionsController {
  constructor(
    private readonly detections: DetectionsService,
    private readonly status: DetectionStatus,
  ) {}

  /**
   * Submit an image: multipart/form-data with the file in field `image` (and options as fields),
   * or a raw `image/*` body (options as query parameters). 200 with boxes when done within
   * `wait` ms (or cached), else 202 with the id and a Location to poll.
   */
  @Post()
  @ApiSubmitDetection()
  @UseInterceptors(FileInterceptor('image'))
  async submit(
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @UploadedFile() file: Express.Multer.File | undefined,
    @Body() body: unknown,
    @Query() query: Record<string, unknown>,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
  ) {
    const multipart = req.is('multipart/form-data') === 'multipart/form-data';
    let image: Buffer;
    if (file) {
      image = file.buffer;
    } else if (Buffer.isBuffer(body)) {
      image = body;
    } else if (multipart) {
      throw new ApiError('missing_image', 'No image: send the file in the multipart field "image"');
    } else if (!req.headers['content-type']) {
      throw new ApiError('missing_image', 'No image: send multipart/form-data with the file in field "image", or a raw image/* body');
    } else {
      throw new ApiError(
        'unsupported_image_type',
        `Content-Type ${req.headers['content-type']} is not accepted: send multipart/form-data with field "image", or a raw image/* body`,
      );
    }
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw new ApiError('validation_failed', 'Idempotency-Key must be 1 to 255 visible ASCII characters');
    }
    const fields = parseSubmitFields(query, multipart && body && typeof body === 'object' ? (body as Record<string, unknown>) : {});
    const { correlationId, clientId, priorities } = contextOf(req);
    const reply = await this.detections.submit({
      image,
      fields,
      correlationId,
      clientId,
      allowedPriorities: priorities ?? [],
      ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
    });
    res.status(reply.status);
    res.setHeader('Location', `/v1/detections/${reply.view.id}`);
    return reply.view;
  }

  /** A detection request at any stage (the caller's own; any, for an admin key). */
  @Get(':id')
  @ApiGetDetection()
  get(@Param('id') id: string, @Req() req: Request) {
    return this.status.get(id, readScopeOf(contextOf(req)));
  }
}

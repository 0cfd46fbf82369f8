import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Post, Query, Req, Res, UploadedFile, UseInterceptors } from '@nestjs/common';
import { FileInterceptor } from '@nestjs/platform-express';
import type { Request, Response } from 'express';
import { ApiDeleteDetection, ApiGetDetection, ApiListDetections, ApiSubmitDetection, ApiV1 } from '../docs/decorators';
import { ApiError } from '../errors/api-error';
import { contextOf, readScopeOf } from '../http/request-context';
import { DetectionDeletion } from './deletion.service';
import { DetectionList, parseListQuery } from './detection-list.service';
import { DetectionStatus } from './detection-status.service';
import { DetectionsService, type ImageInput, submitterOf } from './detections.service';
import { parseSubmitFields } from './submit-params';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** The Idempotency-Key header, checked; undefined when absent. */
export function idempotencyKeyOf(value: string | undefined): string | undefined {
  if (value !== undefined && !IDEMPOTENCY_KEY.test(value)) throw new ApiError('validation_failed', 'Idempotency-Key must be 1 to 255 visible ASCII characters');
  return value;
}

/** JSON option values as the text form fields carry (so one parser checks both). */
function asFields(body: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(body).map(([k, v]) => [k, typeof v === 'number' || typeof v === 'boolean' ? String(v) : Array.isArray(v) && k === 'classes' ? v.join(',') : v]));
}

@ApiV1('detections')
@Controller('v1/detections')
export class DetectionsController {
  constructor(
    private readonly detections: DetectionsService,
    private readonly status: DetectionStatus,
    private readonly list: DetectionList,
    private readonly deletion: DetectionDeletion,
  ) {}

  /**
   * Submit an image: multipart/form-data with the file in field `image` (or an image URL in field
   * `url`) and options as fields, a JSON body with `url` and options, or a raw `image/*` body
   * (options as query parameters). 200 with boxes when done within `wait` ms (or cached), else 202
   * with the id and a Location to poll.
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
    const json = !multipart && req.is('application/json') === 'application/json';
    const { url, ...form } = (multipart || json) && body && typeof body === 'object' && !Buffer.isBuffer(body) ? (body as Record<string, unknown>) : {};
    let image: ImageInput;
    if (file && url !== undefined) {
      throw new ApiError('validation_failed', 'Send the image once: either the file in field "image" or its address in field "url", not both');
    } else if (file) {
      image = { bytes: file.buffer };
    } else if (typeof url === 'string' && url.trim() !== '') {
      image = { url };
    } else if (url !== undefined) {
      throw new ApiError('validation_failed', 'url: give one http or https URL');
    } else if (Buffer.isBuffer(body)) {
      image = { bytes: body };
    } else if (json) {
      throw new ApiError('missing_image', 'No image: a JSON body names the image by its address, {"url": "https://..."}; send its bytes as multipart/form-data (field "image") or a raw image/* body');
    } else if (multipart) {
      throw new ApiError('missing_image', 'No image: send the file in the multipart field "image", or its address in the field "url"');
    } else if (!req.headers['content-type']) {
      throw new ApiError('missing_image', 'No image: send multipart/form-data with the file in field "image" (or a URL in field "url"), or a raw image/* body');
    } else {
      throw new ApiError(
        'unsupported_image_type',
        `Content-Type ${req.headers['content-type']} is not accepted: send multipart/form-data with field "image" or "url", JSON with "url", or a raw image/* body`,
      );
    }
    const fields = parseSubmitFields(query, json ? asFields(form) : form);
    const reply = await this.detections.submit({ image, fields, ...submitterOf(contextOf(req), idempotencyKeyOf(idempotencyKey)) });
    res.status(reply.status);
    res.setHeader('Location', `/v1/detections/${reply.view.id}`);
    return reply.view;
  }

  /**
   * The caller's detections (every client's, for an admin key), newest first, a page at a time:
   * `limit` (1-100, default 20), `cursor` (the previous page's `nextCursor`), filters `status`,
   * `model`, `priority`, `since` and `until` (ISO-8601). Only detections that have ended are listed.
   */
  @Get()
  @ApiListDetections()
  async listDetections(@Query() query: Record<string, unknown>, @Req() req: Request) {
    return this.list.page(parseListQuery(query), readScopeOf(contextOf(req)));
  }

  /** A detection request at any stage (the caller's own; any, for an admin key). */
  @Get(':id')
  @ApiGetDetection()
  get(@Param('id') id: string, @Req() req: Request) {
    return this.status.get(id, readScopeOf(contextOf(req)));
  }

  /**
   * Cancels a detection still waiting (200, its view with status canceled) or erases a finished
   * one (204: its row, cached outcome and image are gone); 409 not_ready while it runs.
   */
  @Delete(':id')
  @HttpCode(200)
  @ApiDeleteDetection()
  async remove(@Param('id') id: string, @Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const done = await this.deletion.delete(id, readScopeOf(contextOf(req)));
    if (done.outcome === 'erased') {
      res.status(204);
      return undefined;
    }
    return done.view;
  }
}

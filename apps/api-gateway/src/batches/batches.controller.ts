import { BATCH_RESULT_FORMATS, type BatchItemResult, type BatchResultFormat } from '@argus/contracts';
import { Body, Controller, Get, Headers, Logger, Param, Post, Query, Req, Res, UploadedFiles, UseFilters, UseInterceptors } from '@nestjs/common';
import { FilesInterceptor } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import { sendApiError } from '../access/respond';
import { idempotencyKeyOf } from '../detections/detections.controller';
import { submitterOf } from '../detections/detections.service';
import { parseBatchFields } from '../detections/submit-params';
import { ApiBatchResults, ApiGetBatch, ApiSubmitBatch, ApiV1 } from '../docs/decorators';
import { ApiError } from '../errors/api-error';
import { BatchErrorFilter } from '../errors/error.filter';
import { contextOf, readScopeOf } from '../http/request-context';
import { ModelCatalog } from '../models/model-catalog.service';
import { cocoDocument, CSV_HEADER, csvRows, jsonlLine, RESULT_FORMATS } from './batch-export';
import { BatchesService } from './batches.service';

/** Room for the multipart framing and the option fields around a batch's images. */
const MULTIPART_SLACK_BYTES = 1024 * 1024;

/**
 * Refuses a batch whose declared size is over BATCH_MAX_BYTES before its body is read (413).
 * Bodies sent without a length are bounded by the multipart limits, then summed.
 */
export function batchSizeGuard(maxBytes: number) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const length = Number(req.headers['content-length']);
    if (Number.isFinite(length) && length > maxBytes + MULTIPART_SLACK_BYTES) {
      sendApiError(res, new ApiError('payload_too_large', `A batch takes at most ${maxBytes} bytes of images (BATCH_MAX_BYTES); this request is ${length} bytes`));
      req.resume();
      return;
    }
    next();
  };
}

@ApiV1('batches')
@Controller('v1/batches')
@UseFilters(BatchErrorFilter)
export class BatchesController {
  private readonly logger = new Logger(BatchesController.name);

  constructor(
    private readonly batches: BatchesService,
    private readonly catalog: ModelCatalog,
  ) {}

  /**
   * Submit a batch: multipart/form-data with files in repeated fields `images` and/or image URLs
   * in repeated fields `url`, and the options of a single detection (but `wait`). 202 with the
   * batch (each image's detection id) and a Location to follow its progress.
   */
  @Post()
  @ApiSubmitBatch()
  @UseInterceptors(FilesInterceptor('images'))
  async submit(
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @UploadedFiles() files: Express.Multer.File[] | undefined,
    @Body() body: unknown,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
  ) {
    if (req.is('multipart/form-data') !== 'multipart/form-data') {
      throw new ApiError('validation_failed', 'A batch is multipart/form-data: files in repeated fields "images", image URLs in repeated fields "url"', {}, 415);
    }
    const { url, ...options } = body && typeof body === 'object' ? (body as Record<string, unknown>) : {};
    const urls = url === undefined ? [] : Array.isArray(url) ? url : [url];
    if (!urls.every((u): u is string => typeof u === 'string' && u.trim() !== '')) throw new ApiError('validation_failed', 'url: each must be one http or https URL');
    const fields = parseBatchFields(options);
    const { view } = await this.batches.submit({
      files: (files ?? []).map((f, index) => ({ name: f.originalname || `image-${index + 1}`, bytes: f.buffer })),
      urls,
      fields,
      ...submitterOf(contextOf(req), idempotencyKeyOf(idempotencyKey)),
    });
    res.status(202);
    res.setHeader('Location', `/v1/batches/${view.id}`);
    return view;
  }

  /** A batch's progress: how many images completed and failed, each image's detection id. */
  @Get(':id')
  @ApiGetBatch()
  get(@Param('id') id: string, @Req() req: Request) {
    return this.batches.get(id, readScopeOf(contextOf(req)));
  }

  /**
   * A finished batch's results, streamed: `format=jsonl` (default; one detection per line with
   * `image`), `csv` (one row per box) or `coco` (one COCO JSON document). 409 not_ready while
   * images are still running.
   */
  @Get(':id/results')
  @ApiBatchResults()
  async results(@Param('id') id: string, @Query('format') format: string | undefined, @Req() req: Request, @Res() res: Response): Promise<void> {
    const chosen = (format ?? 'jsonl').toLowerCase();
    if (!(BATCH_RESULT_FORMATS as readonly string[]).includes(chosen)) throw new ApiError('validation_failed', `format must be ${BATCH_RESULT_FORMATS.join(', ')}, not "${format}"`);
    const kind = chosen as BatchResultFormat;
    const pages = this.batches.resultPages(id, readScopeOf(contextOf(req)));
    // The first page before any header: a batch that is unknown or not finished answers a JSON error.
    const first = await pages.next();
    res.status(200);
    res.setHeader('Content-Type', RESULT_FORMATS[kind].type);
    res.setHeader('Content-Disposition', `attachment; filename="batch-${id}.${RESULT_FORMATS[kind].extension}"`);
    res.setHeader('Cache-Control', 'private, no-store');
    try {
      if (kind === 'coco') {
        const items: BatchItemResult[] = first.done ? [] : [...first.value];
        for await (const page of pages) items.push(...page);
        const model = items[0]?.detection.model.name;
        const labels = model ? ((await this.catalog.served().catch(() => [])).find((m) => m.name === model)?.labels ?? []) : [];
        res.end(JSON.stringify(cocoDocument(id, items, labels)));
        return;
      }
      const write = kind === 'csv' ? csvRows : jsonlLine;
      if (kind === 'csv') res.write(CSV_HEADER);
      if (!first.done) await this.send(res, first.value.map(write).join(''));
      for await (const page of pages) await this.send(res, page.map(write).join(''));
      res.end();
    } catch (error) {
      // Headers are out: cut the stream, so the client sees it incomplete rather than short.
      this.logger.warn({ msg: 'batch results stream failed', batchId: id, error: error instanceof Error ? error.message : String(error) });
      res.destroy(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** Writes a chunk, waiting when the client reads slower than we write. */
  private async send(res: Response, chunk: string): Promise<void> {
    if (chunk === '' || res.write(chunk)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.on('drain', done);
      res.on('close', done);
    });
  }
}

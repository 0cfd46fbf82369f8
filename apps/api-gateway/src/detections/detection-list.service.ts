import { type DetectionListQuery, DetectionListQuerySchema, type DetectionPage, type ReadScope } from '@argus/contracts';
import { Injectable, Logger } from '@nestjs/common';
import { ApiError } from '../errors/api-error';
import { ResultsClient } from '../results-client/results.client';

/**
 * Pure: the list query from what a client sent (REST's query string, GraphQL's arguments), or a
 * 400 naming each problem by the name the client used (`rename`: schema field -> client's name).
 */
export function parseListQuery(input: Record<string, unknown>, rename: Readonly<Record<string, string>> = {}): DetectionListQuery {
  const given = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== null && v !== undefined && v !== ''));
  const parsed = DetectionListQuerySchema.safeParse(given);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      const known = Object.keys(DetectionListQuerySchema.shape).map((k) => rename[k] ?? k);
      return `unknown parameter(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}; accepted: ${known.join(', ')}`;
    }
    const field = String(issue.path[0] ?? 'query');
    return `${rename[field] ?? field}: ${issue.message}`;
  });
  throw new ApiError('validation_failed', `Invalid detections query: ${problems.join('; ')}`);
}

/** A client's finished detections, newest first, a page at a time: REST's `GET /v1/detections` and GraphQL's `detections`. */
@Injectable()
export class DetectionList {
  private readonly logger = new Logger(DetectionList.name);

  constructor(private readonly results: ResultsClient) {}

  async page(query: DetectionListQuery, scope: ReadScope): Promise<DetectionPage> {
    try {
      return await this.results.list(query, scope);
    } catch (error) {
      const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
      if (code === 'validation_failed') throw new ApiError('validation_failed', String(message ?? 'invalid query'));
      this.logger.warn({ msg: 'apps/results did not answer a list', error: error instanceof Error ? error.message : String(error) });
      throw new ApiError('unavailable', 'Results are unavailable right now; retry shortly', { 'Retry-After': '2' });
    }
  }
}

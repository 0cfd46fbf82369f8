import type { CorsOptions } from '@nestjs/common/interfaces/external/cors-options.interface';

/**
 * CORS for browsers on other origins (CORS_ORIGINS): none when empty, any origin for `*`. Keys
 * travel in headers, never cookies, so credentials stay off; preflights may send the key headers.
 */
export function corsOptions(origins: readonly string[]): CorsOptions | null {
  if (origins.length === 0) return null;
  return {
    origin: origins.includes('*') ? '*' : [...origins],
    methods: ['GET', 'HEAD', 'POST', 'OPTIONS'],
    allowedHeaders: ['content-type', 'x-api-key', 'authorization', 'idempotency-key', 'x-correlation-id', 'apollo-require-preflight', 'x-apollo-operation-name', 'accept'],
    exposedHeaders: ['Location', 'Retry-After', 'X-Correlation-Id'],
    credentials: false,
    maxAge: 600,
  };
}

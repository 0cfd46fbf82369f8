/**
 * The paths that need an API key: the REST API (/v1) and GraphQL. Everything else is open by
 * design: /health/* (terse here; details and /metrics are on the operations port), the web page and /docs (what
 * they call is under /v1), Bull Board (/admin/queues, its own basic auth). Matched without regard
 * to case, as Express routes are.
 */
export const PROTECTED_PREFIXES = ['/v1', '/graphql'] as const;

/** Whether a request path needs an API key. */
export function isProtectedPath(path: string): boolean {
  const p = path.toLowerCase();
  return PROTECTED_PREFIXES.some((prefix) => p === prefix || p.startsWith(`${prefix}/`));
}

/** Paths a draining gateway still answers (probes and scrapes). */
export function isOperationalPath(path: string): boolean {
  const p = path.toLowerCase();
  return p === '/metrics' || p.startsWith('/health/');
}

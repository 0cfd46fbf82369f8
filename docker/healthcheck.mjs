// Docker HEALTHCHECK for the Argus images: GET /health/live on this app's HTTP port and exit 0 when
// it answers 2xx, 1 otherwise. Plain node (slim images have no curl); ARGUS_APP is set by the
// image, the port variable by configuration (defaults as in libs/config/src/env.schema.ts).
const PORTS = {
  'api-gateway': ['GATEWAY_PORT', 3000],
  inference: ['INFERENCE_PORT', 3001],
  results: ['RESULTS_PORT', 3002],
};

const app = process.env.ARGUS_APP ?? '';
const entry = PORTS[app];
if (!entry) {
  console.error(`healthcheck: ARGUS_APP must be one of ${Object.keys(PORTS).join(', ')}, not "${app}"`);
  process.exit(1);
}
const [variable, fallback] = entry;
const port = Number(process.env[variable] || fallback);
const url = `http://127.0.0.1:${port}/health/live`;
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
  if (!res.ok) console.error(`healthcheck: ${url} answered ${res.status}`);
  process.exit(res.ok ? 0 : 1);
} catch (error) {
  console.error(`healthcheck: ${url} failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}

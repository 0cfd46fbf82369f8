import { buildConfig } from '@argus/config';
import { isImageError } from '@argus/imaging';
import { DetectorSession, primaryEntry, scanModelRepository } from '@argus/vision';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseDirectArgs } from './direct-args';
import { boundaryOf, parseMultipart } from './multipart';
import { BarePipeline, defaultParams } from './pipeline';

// The direct server: how a detector is usually served first, done properly. One plain node:http
// process; each model loaded and warmed up once at start; per request: read the upload, decode
// and letterbox, infer, boxes, answer. No queue, no database, no cache, no batching. Images in
// flight are bounded (the bare pipeline's best setting without batching) and the rest wait, so
// 64 clients do not mean 64 decodes fighting over two cores.
// Started by the benchmark: node -r @swc-node/register direct-server.ts --port N --repository DIR --models name:threads:inflight:modelThreads,...

const args = parseDirectArgs(process.argv.slice(2));
const defaults = buildConfig({});
const limits = { maxBytes: defaults.limits.maxImageBytes, maxPixels: defaults.limits.maxImagePixels };

async function main(): Promise<void> {
  const entries = (await scanModelRepository(args.repository)).map(primaryEntry);
  const pipelines = new Map<string, BarePipeline>();
  for (const m of args.models) {
    const entry = entries.find((e) => e.name === m.name);
    if (!entry) throw new Error(`no model ${m.name} in ${args.repository}`);
    const session = await DetectorSession.create(entry, {
      executionProviders: ['cpu'],
      intraOpThreads: m.threads,
      interOpThreads: 0,
      warmupRuns: defaults.models.warmupRuns,
      maxBatchSize: 1,
      modelThreads: m.modelThreads,
      sharedSlots: m.inflight,
    });
    pipelines.set(m.name, new BarePipeline(session, { inflight: m.inflight, batching: false }, defaultParams(entry, defaults.defaults), limits));
  }
  const fallback = args.models[0]?.name ?? '';

  const reply = (res: ServerResponse, status: number, body: unknown): void => {
    const json = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
    res.end(json);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method === 'GET' && req.url === '/health') return reply(res, 200, { status: 'ok', models: [...pipelines.keys()] });
    if (req.method !== 'POST' || !req.url?.startsWith('/v1/detect')) return reply(res, 404, { error: 'not_found' });
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const boundary = boundaryOf(req.headers['content-type']);
    if (!boundary) return reply(res, 400, { error: 'send multipart/form-data with the image in field "image"' });
    const form = parseMultipart(Buffer.concat(chunks), boundary);
    const image = form.files['image'];
    if (!image) return reply(res, 400, { error: 'no file in field "image"' });
    const pipeline = pipelines.get(form.fields['model'] ?? fallback);
    if (!pipeline) return reply(res, 400, { error: `unknown model "${form.fields['model']}"` });
    const detections = await pipeline.detect(image);
    return reply(res, 200, { status: 'completed', model: pipeline.session.entry.name, detections });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (res.headersSent) return void res.destroy();
      reply(res, isImageError(e) ? 400 : 500, { error: e instanceof Error ? e.message : String(e) });
    });
  });
  server.keepAliveTimeout = 60000;
  server.listen(args.port, '127.0.0.1', () => process.stdout.write(`direct server listening on ${args.port}\n`));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

main().catch((e: unknown) => {
  process.stderr.write(`direct-server: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});

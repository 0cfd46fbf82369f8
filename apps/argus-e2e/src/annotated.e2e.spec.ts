import { ArgusClient, ArgusError, type DetectionView } from '@argus/client';
import { type Stack, startStack, workspaceRoot } from '@argus/testing';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { call, corruptPng, photo } from './helpers';

/** The photo as displayed (EXIF applied), as raw RGB. */
async function rgb(image: Buffer | Uint8Array): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(image).rotate().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

function differs(a: Buffer, b: Buffer, width: number, x: number, y: number, threshold: number): boolean {
  const i = (Math.round(y) * width + Math.round(x)) * 3;
  let most = 0;
  for (let c = 0; c < 3; c++) most = Math.max(most, Math.abs((a[i + c] ?? 0) - (b[i + c] ?? 0)));
  return most > threshold;
}

describe('GET /v1/detections/:id/annotated (real stack)', () => {
  let stack: Stack;
  let client: ArgusClient;
  let bus: DetectionView;

  beforeAll(async () => {
    stack = await startStack({ label: 'annotated' });
    client = new ArgusClient({ baseUrl: stack.baseUrl, apiKey: stack.apiKey });
    bus = await client.detect(photo('bus.jpg'), { wait: 20000 });
  });
  afterAll(() => stack?.stop());

  it('draws the boxes on the original: same size, pixels changed on the box edges and nowhere far from the boxes', async () => {
    expect(bus.detections.length).toBeGreaterThanOrEqual(5);
    const annotated = await client.annotated(bus.id, { format: 'png' });
    expect(annotated.contentType).toBe('image/png');
    const artifacts = join(workspaceRoot(), 'test-artifacts', 'annotated');
    mkdirSync(artifacts, { recursive: true });
    writeFileSync(join(artifacts, 'bus.png'), annotated.data);
    const meta = await sharp(annotated.data).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 810, 1080]);

    const before = await rgb(photo('bus.jpg'));
    const after = await rgb(annotated.data);
    const { width, height } = before;
    // On every box's left edge, most of the way down: the class colour, not the photo.
    for (const d of bus.detections) {
      const x = Math.min(width - 1, Math.max(0, Math.floor(d.box.x1) + 1));
      const ys = Array.from({ length: 20 }, (_, k) => d.box.y1 + ((d.box.y2 - d.box.y1) * (k + 5)) / 30).filter((y) => y >= 0 && y < height);
      const changed = ys.filter((y) => differs(before.data, after.data, width, x, y, 30)).length;
      expect(changed / ys.length).toBeGreaterThan(0.8);
    }
    // Away from every box and its label: untouched (PNG is lossless; the decode is the same).
    const near = (x: number, y: number) =>
      bus.detections.some((d) => x >= d.box.x1 - 6 && x <= Math.max(d.box.x2, d.box.x1 + 170) + 6 && y >= d.box.y1 - 30 && y <= d.box.y2 + 6);
    let far = 0;
    let touched = 0;
    for (let y = 0; y < height; y += 7) {
      for (let x = 0; x < width; x += 7) {
        if (near(x, y)) continue;
        far++;
        if (differs(before.data, after.data, width, x, y, 2)) touched++;
      }
    }
    expect(far).toBeGreaterThan(500);
    expect(touched).toBe(0);
  });

  it('chooses PNG or JPEG by format, then by Accept; JPEG for a JPEG original by default', async () => {
    const byAccept = await client.annotated(bus.id, { accept: 'image/png' });
    expect(byAccept.contentType).toBe('image/png');
    const byDefault = await call(stack, `/v1/detections/${bus.id}/annotated`);
    expect(byDefault.headers.get('content-type')).toBe('image/jpeg');
    expect(byDefault.headers.get('vary')).toMatch(/accept/i);
    expect((await sharp(Buffer.from(await byDefault.arrayBuffer())).metadata()).format).toBe('jpeg');
    const formatWins = await client.annotated(bus.id, { format: 'jpeg', accept: 'image/png' });
    expect(formatWins.contentType).toBe('image/jpeg');

    const refused = await call(stack, `/v1/detections/${bus.id}/annotated`, { headers: { accept: 'application/json' } });
    expect(refused.status).toBe(406);
    const badFormat = await call(stack, `/v1/detections/${bus.id}/annotated?format=gif`);
    expect(badFormat.status).toBe(400);
    expect(await badFormat.json()).toMatchObject({ error: { code: 'validation_failed' } });
  });

  it('applies EXIF orientation: the image is the displayed size, as the boxes are', async () => {
    const skier = await client.detect(photo('coco-000000000785-skier-exif6.jpg'), { wait: 20000 });
    expect(skier.image).toMatchObject({ width: 640, height: 425 });
    const annotated = await client.annotated(skier.id, { format: 'png' });
    writeFileSync(join(workspaceRoot(), 'test-artifacts', 'annotated', 'skier-exif6.png'), annotated.data);
    const meta = await sharp(annotated.data).metadata();
    expect([meta.width, meta.height, meta.orientation ?? 1]).toEqual([640, 425, 1]);
    // The skier's box edge is drawn where the displayed photo has the skier.
    const person = skier.detections.find((d) => d.label === 'person');
    if (!person) throw new Error('no person found in the skier photo');
    const before = await rgb(photo('coco-000000000785-skier-exif6.jpg'));
    const after = await rgb(annotated.data);
    const midY = (person.box.y1 + person.box.y2) / 2;
    expect(differs(before.data, after.data, before.width, Math.floor(person.box.x1) + 1, midY, 30)).toBe(true);
  });

  it('answers 410 image_expired once the photo is no longer kept, and a failed detection\'s own error', async () => {
    const dog = await client.detect(photo('darknet-dog.jpg'), { wait: 20000 });
    await stack.redis.del(`${stack.prefix}:img:${dog.image.sha256}`); // what IMAGE_RETENTION_SECONDS does
    const gone = await call(stack, `/v1/detections/${dog.id}/annotated`);
    expect(gone.status).toBe(410);
    expect(await gone.json()).toEqual({ error: { code: 'image_expired', message: expect.any(String) } });

    const broken = await client.submit(corruptPng(), { wait: 20000 });
    expect(broken.detection.status).toBe('failed');
    await expect(client.annotated(broken.detection.id)).rejects.toMatchObject({ status: 422, code: 'corrupt_image' });

    await expect(client.annotated('01a2014a-0000-7000-8000-000000000000')).rejects.toBeInstanceOf(ArgusError);
  });

  it('answers 409 while the detection is in progress, unless `wait` lets it finish', async () => {
    await stack.stopApp('inference');
    const queued = await client.submit(photo('coco-000000002006-bus-640x480.jpg'));
    expect(queued.status).toBe(202);
    const early = await call(stack, `/v1/detections/${queued.detection.id}/annotated`);
    expect(early.status).toBe(409);
    expect(await early.json()).toEqual({ error: { code: 'not_ready', message: expect.stringContaining('queued') } });
    expect(early.headers.get('retry-after')).toBe('1');
    const waiting = client.annotated(queued.detection.id, { format: 'png', wait: 30000 });
    await stack.startApp('inference');
    const annotated = await waiting;
    const meta = await sharp(annotated.data).metadata();
    expect([meta.width, meta.height]).toEqual([640, 480]);
  });
});

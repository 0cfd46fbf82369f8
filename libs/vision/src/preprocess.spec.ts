import type { ImageLimits } from '@argus/imaging';
import { isImageError } from '@argus/imaging';
import { testImage } from '@argus/testing';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { describeModel } from './model-spec';
import { PAD_VALUE, type PreparedImage, preprocess } from './preprocess';

const LIMITS: ImageLimits = { maxBytes: 20 * 1024 * 1024, maxPixels: 100_000_000 };
const YOLOX = describeModel({
  inputs: [{ name: 'images', shape: ['batch', 3, 416, 416] }],
  outputs: [{ name: 'output', shape: ['batch', 3549, 85] }],
});
const YOLOV8 = describeModel({
  inputs: [{ name: 'images', shape: [1, 3, 640, 640] }],
  outputs: [{ name: 'output0', shape: [1, 84, 8400] }],
});
const photo = (name: string) => readFileSync(testImage(name));

/** The tensor value of channel c (in model order) at input pixel (x, y). */
const at = (p: PreparedImage, size: number, c: number, x: number, y: number) => p.tensor[c * size * size + y * size + x];

function solid(width: number, height: number, colour: { r: number; g: number; b: number; alpha?: number }) {
  return sharp({ create: { width, height, channels: colour.alpha === undefined ? 3 : 4, background: colour } });
}

async function preprocessError(bytes: Buffer, limits = LIMITS) {
  const e: unknown = await preprocess(bytes, YOLOX, limits).then(
    () => new Error('expected preprocess to fail'),
    (err: unknown) => err,
  );
  if (isImageError(e)) return e;
  throw e;
}

describe(preprocess.name, () => {
  const colour = { r: 10, g: 20, b: 30 };

  it('YOLOX: BGR planes, 0..255, top-left, 114 padding right and below', async () => {
    const p = await preprocess(await solid(200, 100, colour).png().toBuffer(), YOLOX, LIMITS);
    expect(p.letterbox).toEqual({ scale: 2.08, padX: 0, padY: 0, resizedWidth: 416, resizedHeight: 208 });
    expect([p.width, p.height, p.tensor.length]).toEqual([200, 100, 3 * 416 * 416]);
    expect([0, 1, 2].map((c) => at(p, 416, c, 10, 10))).toEqual([30, 20, 10]);
    expect([0, 1, 2].map((c) => at(p, 416, c, 415, 207))).toEqual([30, 20, 10]);
    expect([0, 1, 2].map((c) => at(p, 416, c, 0, 208))).toEqual([PAD_VALUE, PAD_VALUE, PAD_VALUE]);
    expect(p.preprocessMs).toBeGreaterThan(0);
  });

  it('YOLOv8: RGB planes, /255, centred with round(d - 0.1) padding', async () => {
    const p = await preprocess(await solid(100, 200, colour).png().toBuffer(), YOLOV8, LIMITS);
    expect(p.letterbox).toEqual({ scale: 3.2, padX: 160, padY: 0, resizedWidth: 320, resizedHeight: 640 });
    expect([0, 1, 2].map((c) => at(p, 640, c, 160, 0))).toEqual([10 / 255, 20 / 255, 30 / 255].map(Math.fround));
    expect([0, 1, 2].map((c) => at(p, 640, c, 479, 639))).toEqual([10 / 255, 20 / 255, 30 / 255].map(Math.fround));
    expect(at(p, 640, 0, 159, 0)).toBe(Math.fround(PAD_VALUE / 255));
    expect(at(p, 640, 2, 480, 639)).toBe(Math.fround(PAD_VALUE / 255));
  });

  it('applies EXIF orientation: boxes live in the displayed frame', async () => {
    // Stored 64x32, red on top, blue below; orientation 6 displays it turned clockwise: 32x64, blue left, red right.
    const stored = await sharp({ create: { width: 64, height: 32, channels: 3, background: { r: 255, g: 0, b: 0 } } })
      .composite([{ input: await solid(64, 16, { r: 0, g: 0, b: 255 }).png().toBuffer(), top: 16, left: 0 }])
      .withMetadata({ orientation: 6 })
      .jpeg({ quality: 100 })
      .toBuffer();
    const p = await preprocess(stored, YOLOV8, LIMITS);
    expect([p.width, p.height]).toEqual([32, 64]);
    // [red, blue] rounded to the nearest 16 levels: JPEG moves them a little.
    const redBlue = (x: number, y: number) => [0, 2].map((c) => Math.round(((at(p, 640, c, x, y) ?? 0) * 255) / 16) * 16);
    const { padX, resizedWidth } = p.letterbox;
    expect(redBlue(padX + Math.floor(resizedWidth * 0.25), 320)).toEqual([0, 256]);
    expect(redBlue(padX + Math.floor(resizedWidth * 0.75), 320)).toEqual([256, 0]);
  });

  it('turns grey, CMYK and transparent images into 3-channel colour', async () => {
    const grey = await preprocess(photo('coco-000000007888-grayscale.jpg'), YOLOX, LIMITS);
    const plane = 416 * 416;
    const mid = 200 * 416 + 200;
    expect(grey.tensor[mid]).toBe(grey.tensor[plane + mid]);
    expect(grey.tensor[mid]).toBe(grey.tensor[2 * plane + mid]);

    const cmyk = await preprocess(await solid(50, 50, colour).toColourspace('cmyk').jpeg().toBuffer(), YOLOX, LIMITS);
    // B, G, R back from CMYK through a colour profile: close to (30, 20, 10), not equal.
    const bgr = [0, 1, 2].map((c) => at(cmyk, 416, c, 100, 100) ?? NaN);
    const want = [30, 20, 10];
    bgr.forEach((v, c) => expect(Math.abs(v - (want[c] ?? NaN))).toBeLessThan(15));

    const clear = await preprocess(await solid(50, 50, { r: 200, g: 100, b: 50, alpha: 0 }).png().toBuffer(), YOLOX, LIMITS);
    expect([0, 1, 2].map((c) => at(clear, 416, c, 100, 100))).toEqual([PAD_VALUE, PAD_VALUE, PAD_VALUE]);
  });

  it('refills the padding of a reused tensor', async () => {
    const into = new Float32Array(3 * 416 * 416).fill(-1);
    await preprocess(photo('bus.jpg'), YOLOX, LIMITS, into); // portrait: padding on the right
    const reused = await preprocess(photo('zidane.jpg'), YOLOX, LIMITS, into); // landscape: padding below
    const fresh = await preprocess(photo('zidane.jpg'), YOLOX, LIMITS);
    expect(reused.tensor).toBe(into);
    expect(Buffer.from(reused.tensor.buffer).equals(Buffer.from(fresh.tensor.buffer))).toBe(true);
  });

  it('refuses a tensor of the wrong size', async () => {
    await expect(preprocess(photo('zidane.jpg'), YOLOX, LIMITS, new Float32Array(10))).rejects.toThrow(RangeError);
  });

  it('decodes a huge JPEG at reduced size when the limit allows it', async () => {
    const p = await preprocess(photo('synthetic-gray-20000x14000.jpg'), YOLOX, { ...LIMITS, maxPixels: 300_000_000 });
    expect(p).toMatchObject({ width: 20000, height: 14000, letterbox: { resizedWidth: 416, resizedHeight: 291 } });
  });

  describe('bad input', () => {
    it('gives each bad image its code', async () => {
      const bus = photo('coco-000000002006-bus-640x480.jpg');
      const cases: [string, Buffer, string][] = [
        ['empty', Buffer.alloc(0), 'empty_image'],
        ['text', Buffer.from('GET / HTTP/1.1\r\nHost: example.com\r\n\r\n'), 'not_an_image'],
        ['truncated JPEG', bus.subarray(0, bus.length >> 1), 'truncated_image'],
        ['20000x14000', photo('synthetic-gray-20000x14000.jpg'), 'image_too_large'],
      ];
      for (const [what, bytes, code] of cases) expect([what, (await preprocessError(bytes)).code]).toEqual([what, code]);
    });

    it('re-checks the signature itself: SVG, SVGZ and PDF bytes (as a job could carry them from Redis) never reach sharp', async () => {
      const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="640" height="480"><rect width="640" height="480" fill="red"/></svg>';
      const cases: [string, Buffer][] = [
        ['SVG behind a BOM, an XML declaration and a long comment', Buffer.from(`\ufeff<?xml version="1.0"?>\n<!--${'-x'.repeat(3000)}-->\n${svg}`)],
        ['SVGZ', gzipSync(Buffer.from(svg))],
        ['PDF', Buffer.from('%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n')],
      ];
      for (const [what, bytes] of cases) {
        const e = await preprocessError(bytes);
        expect({ what, code: e.code, ours: /are not supported; send a JPEG/.test(e.message) }).toEqual({ what, code: 'unsupported_image_type', ours: true });
      }
      // And should one slip past, this process's sharp has no SVG loader to hand it to.
      await expect(sharp(Buffer.from(svg)).metadata()).rejects.toThrow(/unsupported image format/);
    });

    it('reports a JPEG with damaged image data as corrupt', async () => {
      const bytes = Buffer.from(photo('darknet-dog.jpg'));
      for (let i = 20000; i < 80000; i++) bytes[i] = (i * 31) & 0xff;
      const e = await preprocessError(bytes);
      expect(e.code).toBe('corrupt_image');
      expect(e.message).toMatch(/cannot be decoded/);
    });
  });
});

import { testImage, testImagesDir } from '@argus/testing';
import { readdirSync, readFileSync } from 'node:fs';
import sharp from 'sharp';
import { gzipSync } from 'node:zlib';
import { type ImageError, isImageError } from './image-error';
import { type ImageLimits, probeImage } from './probe-image';

const LIMITS: ImageLimits = { maxBytes: 20 * 1024 * 1024, maxPixels: 100_000_000 };
const photo = (name: string) => readFileSync(testImage(name));

async function probeError(bytes: Buffer, limits = LIMITS): Promise<ImageError> {
  try {
    await probeImage(bytes, limits);
  } catch (e) {
    if (isImageError(e)) return e;
    throw e;
  }
  throw new Error('expected probeImage to fail');
}

/** The size sharp will decode to, which the probe must report without decoding. */
async function sharpView(bytes: Buffer) {
  const m = await sharp(bytes, { limitInputPixels: false }).metadata();
  return { width: m.autoOrient.width, height: m.autoOrient.height, orientation: m.orientation ?? 1 };
}

const small = () => sharp(photo('zidane.jpg')).resize(64, 36);

describe(probeImage.name, () => {
  const photos = readdirSync(testImagesDir()).filter((f) => /\.(jpe?g|png|webp)$/i.test(f) && !f.includes('20000x14000'));

  it.each(photos)('reads %s as sharp does', async (name) => {
    const bytes = photo(name);
    const probe = await probeImage(bytes, LIMITS);
    const meta = await sharp(bytes).metadata();
    expect(probe).toMatchObject({
      format: meta.format,
      ...(await sharpView(bytes)),
      channels: meta.channels,
      hasAlpha: meta.hasAlpha,
      bytes: bytes.length,
    });
  });

  it('reports the displayed size of an EXIF-rotated photo', async () => {
    const probe = await probeImage(photo('coco-000000000785-skier-exif6.jpg'), LIMITS);
    expect(probe).toMatchObject({ width: 640, height: 425, orientation: 6 });
  });

  describe.each(['jpeg', 'png', 'webp'] as const)('EXIF orientation in %s', (format) => {
    it.each([1, 2, 3, 4, 5, 6, 7, 8])('agrees with sharp on orientation %i', async (orientation) => {
      const bytes = await small().withMetadata({ orientation }).toFormat(format).toBuffer();
      const probe = await probeImage(bytes, LIMITS);
      expect({ width: probe.width, height: probe.height, orientation: probe.orientation }).toEqual(await sharpView(bytes));
      expect(probe.width).toBe(orientation >= 5 ? 36 : 64);
    });
  });

  it('takes the first Exif segment of a JPEG, as libvips does', async () => {
    const six = await small().withMetadata({ orientation: 6 }).jpeg().toBuffer();
    const three = await small().withMetadata({ orientation: 3 }).jpeg().toBuffer();
    const app1 = (b: Buffer) => {
      for (let p = 2; ; p += 2 + b.readUInt16BE(p + 2)) if (b[p + 1] === 0xe1) return { at: p, seg: b.subarray(p, p + 2 + b.readUInt16BE(p + 2)) };
    };
    const first = app1(six);
    const both = Buffer.concat([six.subarray(0, first.at + first.seg.length), app1(three).seg, six.subarray(first.at + first.seg.length)]);
    const probe = await probeImage(both, LIMITS);
    expect(probe.orientation).toBe(6);
    expect(probe.orientation).toBe((await sharpView(both)).orientation);
  });

  it('reads channels and alpha of grey, CMYK, RGBA, palette and lossless images', async () => {
    const rgba = sharp({ create: { width: 8, height: 4, channels: 4, background: { r: 1, g: 2, b: 3, alpha: 0.5 } } });
    const cases: [string, Buffer, Partial<{ channels: number; hasAlpha: boolean; format: string }>][] = [
      ['grey jpeg', photo('coco-000000007888-grayscale.jpg'), { channels: 1, hasAlpha: false }],
      ['cmyk jpeg', await small().toColourspace('cmyk').jpeg().toBuffer(), { channels: 4, hasAlpha: false }],
      ['rgba png', await rgba.clone().png().toBuffer(), { channels: 4, hasAlpha: true }],
      ['grey+alpha png', await rgba.clone().toColourspace('b-w').png().toBuffer(), { channels: 2, hasAlpha: true }],
      ['palette png', await rgba.clone().png({ palette: true }).toBuffer(), { hasAlpha: true }],
      ['lossless webp with alpha', await rgba.clone().webp({ lossless: true }).toBuffer(), { channels: 4, hasAlpha: true }],
      ['lossy webp with alpha', await rgba.clone().webp().toBuffer(), { channels: 4, hasAlpha: true }],
    ];
    for (const [what, bytes, expected] of cases) {
      const probe = await probeImage(bytes, LIMITS);
      const meta = await sharp(bytes).metadata();
      expect({ what, ...probe }).toMatchObject({ what, ...expected, hasAlpha: meta.hasAlpha });
    }
  });

  it('hands GIF, TIFF and AVIF to sharp for their header', async () => {
    for (const format of ['gif', 'tiff', 'avif'] as const) {
      const bytes = await small().toFormat(format).toBuffer();
      const probe = await probeImage(bytes, LIMITS);
      expect(probe).toMatchObject({ format, width: 64, height: 36 });
    }
  });

  it('classifies embedded colour profiles', async () => {
    expect((await probeImage(photo('darknet-dog.jpg'), LIMITS)).icc).toBe('srgb');
    expect((await probeImage(photo('coco-000000000785-skier-exif6.jpg'), LIMITS)).icc).toBe('srgb');
    expect((await probeImage(photo('bus.jpg'), LIMITS)).icc).toBe('other'); // Display P3
    expect((await probeImage(photo('coco-000000007888-grayscale.jpg'), LIMITS)).icc).toBe('other'); // grey gamma 2.2
    expect((await probeImage(photo('zidane.jpg'), LIMITS)).icc).toBe('none');
    const srgbPng = await sharp(photo('darknet-dog.jpg')).resize(16).keepIccProfile().png().toBuffer();
    expect((await probeImage(srgbPng, LIMITS)).icc).toBe('srgb');
    const p3Webp = await sharp(photo('bus.jpg')).resize(16).keepIccProfile().webp().toBuffer();
    expect((await probeImage(p3Webp, LIMITS)).icc).toBe('other');
  });

  describe('bad input', () => {
    it('refuses an empty upload', async () => {
      expect((await probeError(Buffer.alloc(0))).code).toBe('empty_image');
    });

    it('refuses an upload over the byte limit, saying both sizes', async () => {
      const e = await probeError(photo('bus.jpg'), { ...LIMITS, maxBytes: 100 * 1024 });
      expect(e.code).toBe('payload_too_large');
      expect(e.message).toContain('476 KiB');
      expect(e.message).toContain('100 KiB');
    });

    it('refuses text and random bytes as not an image', async () => {
      expect((await probeError(Buffer.from('hello, this is a text file\n'))).code).toBe('not_an_image');
      const random = Buffer.alloc(4096);
      for (let i = 0; i < random.length; i++) random[i] = (i * 7919 + 13) % 251;
      expect((await probeError(random)).code).toBe('not_an_image');
    });

    it('refuses every kind of SVG by its text, before sharp (which would hand it to librsvg) sees it', async () => {
      const root = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>';
      const svgs: [string, Buffer][] = [
        ['plain', Buffer.from(root)],
        ['XML declaration', Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n${root}`)],
        ['byte-order mark', Buffer.from(`\ufeff${root}`)],
        ['white space first', Buffer.from(`\r\n\t   \n${root}`)],
        ['a long comment first (past libvips\' first 1000 bytes and our old 1024)', Buffer.from(`<!--${'x'.repeat(5000)}-->\n${root}`)],
        ['a doctype and 20 KiB of padding', Buffer.from(`<?xml version="1.0"?>\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">${' '.repeat(20_000)}${root}`)],
        ['upper case', Buffer.from(root.replace('<svg', '<SVG'))],
      ];
      for (const [what, bytes] of svgs) {
        const e = await probeError(bytes);
        expect({ what, code: e.code, message: e.message }).toEqual({ what, code: 'unsupported_image_type', message: expect.stringContaining('SVG images are not supported') });
      }
      // libvips also unpacks a gzip-compressed drawing (SVGZ) to look for an SVG inside
      const svgz = await probeError(gzipSync(Buffer.from(root)));
      expect([svgz.code, svgz.message]).toEqual(['unsupported_image_type', expect.stringContaining('gzip-compressed')]);
    });

    it('refuses markup that is not SVG, and text, as not an image, without sharp', async () => {
      for (const text of ['<html><body>hi</body></html>', '<?xml version="1.0"?><note>svg</note>', '{"svg": "<svg>"}']) {
        expect([text, (await probeError(Buffer.from(text))).code]).toEqual([text, 'not_an_image']);
      }
    });

    it('refuses video and other ISO media files by their brands', async () => {
      const mp4 = Buffer.concat([Buffer.from([0, 0, 0, 20]), Buffer.from('ftypisom\0\0\0\0mp42', 'latin1'), Buffer.alloc(64)]);
      const e = await probeError(mp4);
      expect([e.code, e.message]).toEqual(['unsupported_image_type', expect.stringContaining('"isom"')]);
    });

    it('refuses SVG, PDF, BMP and HEIC as unsupported types', async () => {
      const svg = Buffer.from('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>');
      const bmp = Buffer.alloc(64);
      bmp.write('BM', 0, 'latin1');
      bmp.writeUInt32LE(64, 2);
      bmp.writeUInt32LE(40, 14);
      const heic = Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from('ftypheic\0\0\0\0mif1heic', 'latin1')]);
      for (const bytes of [svg, Buffer.from('%PDF-1.7\n%...'), bmp, heic]) {
        const e = await probeError(bytes);
        expect([e.code, e.message]).toEqual(['unsupported_image_type', expect.stringContaining('JPEG')]);
      }
    });

    it('refuses a truncated JPEG without decoding it', async () => {
      const bytes = photo('coco-000000002006-bus-640x480.jpg');
      for (const keep of [0.95, 0.5, 0.05]) {
        const e = await probeError(bytes.subarray(0, Math.floor(bytes.length * keep)));
        expect([keep, e.code]).toEqual([keep, 'truncated_image']);
      }
      expect((await probeError(bytes.subarray(0, 100))).code).toBe('truncated_image');
    });

    it('accepts a JPEG with zero padding or data after its end marker', async () => {
      const bytes = photo('darknet-dog.jpg');
      await expect(probeImage(Buffer.concat([bytes, Buffer.alloc(512)]), LIMITS)).resolves.toMatchObject({ width: 768 });
      const trailer = Buffer.concat([bytes, Buffer.from('....ftypmp42 a motion-photo video would be here')]);
      await expect(probeImage(trailer, LIMITS)).resolves.toMatchObject({ width: 768 });
    });

    it('refuses a truncated PNG, WebP and AVIF', async () => {
      const png = photo('darknet-horses.png');
      const webp = photo('tree-no-objects.webp');
      const avif = await sharp(photo('zidane.jpg')).resize(320).avif().toBuffer();
      for (const bytes of [png, webp, avif]) {
        expect((await probeError(bytes.subarray(0, Math.floor(bytes.length * 0.7)))).code).toBe('truncated_image');
      }
    });

    it('refuses an image over the pixel limit from its header, saying both sizes', async () => {
      const started = process.memoryUsage().rss;
      const e = await probeError(photo('synthetic-gray-20000x14000.jpg'));
      expect(e.code).toBe('image_too_large');
      expect(e.message).toContain('20000x14000 = 280 Mpx; the limit is 100 Mpx');
      expect(process.memoryUsage().rss - started).toBeLessThan(64 * 1024 * 1024);
    });

    it('gives exact counts when rounding would make the size look like the limit', async () => {
      const e = await probeError(photo('zidane.jpg'), { ...LIMITS, maxPixels: 1280 * 720 - 1 });
      expect(e.message).toContain('1280x720 = 921600 pixels; the limit is 921599 pixels');
      const bytes = photo('zidane.jpg');
      expect((await probeError(bytes, { ...LIMITS, maxBytes: bytes.length - 1 })).message).toContain(`${bytes.length} bytes; the limit is ${bytes.length - 1} bytes`);
    });

    it('checks the pixel limit on the displayed size', async () => {
      const bytes = await small().withMetadata({ orientation: 6 }).jpeg().toBuffer();
      expect((await probeError(bytes, { ...LIMITS, maxPixels: 64 * 36 - 1 })).code).toBe('image_too_large');
      await expect(probeImage(bytes, { ...LIMITS, maxPixels: 64 * 36 })).resolves.toMatchObject({ width: 36, height: 64 });
    });

    it('refuses a JPEG whose header is damaged', async () => {
      const bytes = Buffer.from(photo('darknet-dog.jpg'));
      bytes[2 + 2 + bytes.readUInt16BE(4)] = 0x12; // the byte where the second marker's 0xFF should be
      expect((await probeError(bytes)).code).toBe('corrupt_image');
    });

    it('gives errors that serialise to a code and a message', async () => {
      const e = await probeError(Buffer.alloc(0));
      expect(e.toInfo()).toEqual({ code: 'empty_image', message: e.message });
      expect(isImageError(e)).toBe(true);
      expect(isImageError(new Error('x'))).toBe(false);
    });
  });
});

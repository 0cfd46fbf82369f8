import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { testImage } from '@argus/testing';
import sharp from 'sharp';
import { restrictDecoders } from './decoders';

const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10" fill="red"/></svg>');
const solid = () => sharp({ create: { width: 8, height: 6, channels: 3, background: '#336699' } });

describe(restrictDecoders.name, () => {
  beforeAll(() => restrictDecoders());

  it('leaves sharp unable to load SVG (plain or gzip-compressed), PPM or raw camera formats', async () => {
    const ppm = Buffer.from(`P6\n2 2\n255\n${'\xff\x00\x00'.repeat(4)}`, 'latin1');
    const outcomes: Record<string, string> = {};
    for (const [what, bytes] of Object.entries({ svg, svgz: gzipSync(svg), ppm })) {
      outcomes[what] = await sharp(bytes).metadata().then((m) => `decoded as ${m.format}`, (e: Error) => e.message);
    }
    expect(outcomes).toEqual({ svg: expect.stringMatching(/unsupported image format/), svgz: expect.stringMatching(/unsupported image format/), ppm: expect.stringMatching(/unsupported image format/) });
  });

  it('still loads every format Argus serves', async () => {
    const formats = { jpeg: await solid().jpeg().toBuffer(), png: await solid().png().toBuffer(), webp: await solid().webp().toBuffer(), gif: await solid().gif().toBuffer(), tiff: await solid().tiff().toBuffer() };
    for (const [format, bytes] of Object.entries(formats)) expect(await sharp(bytes).metadata()).toMatchObject({ format, width: 8, height: 6 });
    expect(await sharp(await solid().avif().toBuffer()).metadata()).toMatchObject({ format: 'heif', compression: 'av1' });
    expect((await sharp(readFileSync(testImage('tree-no-objects.webp'))).metadata()).format).toBe('webp');
  });

  it('keeps raw pixels and generated images working (they need no loader)', async () => {
    const png = await sharp(Buffer.alloc(4 * 4 * 3, 200), { raw: { width: 4, height: 4, channels: 3 } }).png().toBuffer();
    expect((await sharp(png).metadata()).width).toBe(4);
  });
});

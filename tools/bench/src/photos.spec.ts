import { probeImage } from '@argus/imaging';
import { testImage } from '@argus/testing';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { PHOTO_MIX, PhotoMix, withJpegComment } from './photos';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const limits = { maxBytes: 50 * 1024 * 1024, maxPixels: 100_000_000 };

describe(withJpegComment.name, () => {
  it.each([...PHOTO_MIX, 'coco-000000000785-skier-exif6.jpg'])('changes the bytes of %s but not one decoded pixel', async (name) => {
    const original = readFileSync(testImage(name));
    const variant = withJpegComment(original, 'argus-bench test 1');
    expect(sha(variant)).not.toBe(sha(original));
    expect(variant.length).toBe(original.length + 4 + 'argus-bench test 1'.length);
    const [a, b] = await Promise.all([original, variant].map((bytes) => sharp(bytes).rotate().raw().toBuffer({ resolveWithObject: true })));
    expect(b?.info).toEqual(a?.info);
    expect(b?.data.equals(a?.data as Buffer)).toBe(true);
    expect({ ...(await probeImage(variant, limits)), bytes: 0 }).toEqual({ ...(await probeImage(original, limits)), bytes: 0 });
  });

  it('keeps the EXIF orientation (APPn segments stay first)', async () => {
    const original = readFileSync(testImage('coco-000000000785-skier-exif6.jpg'));
    expect((await sharp(withJpegComment(original, 'x')).metadata()).orientation).toBe(6);
  });

  it('refuses what is not a JPEG', () => {
    expect(() => withJpegComment(readFileSync(testImage('darknet-horses.png')), 'x')).toThrow(/not a JPEG/);
  });
});

describe(PhotoMix.name, () => {
  it('goes round the photos, and never hands out the same bytes twice', () => {
    const mix = new PhotoMix(
      PHOTO_MIX.map((n) => testImage(n)),
      'run1',
    );
    const photos = Array.from({ length: 2 * PHOTO_MIX.length }, () => mix.next());
    expect(photos.map((p) => p.index)).toEqual([0, 1, 2, 3, 4, 0, 1, 2, 3, 4]);
    expect(photos[0]?.name).toBe(PHOTO_MIX[0]);
    const again = mix.unique(0);
    expect(new Set([...photos, again].map((p) => sha(p.bytes))).size).toBe(photos.length + 1);
    expect(mix.names).toEqual([...PHOTO_MIX]);
  });
});

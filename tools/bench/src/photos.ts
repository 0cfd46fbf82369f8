import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

/**
 * The fixed mix every mode is fed, round robin: five real JPEGs of the sizes clients send (a
 * 640x480 COCO frame up to a 1280x720 and an 810x1080 phone photo).
 */
export const PHOTO_MIX = [
  'coco-000000002006-bus-640x480.jpg',
  'bus.jpg',
  'zidane.jpg',
  'coco-000000000139-livingroom.jpg',
  'darknet-dog.jpg',
] as const;

/**
 * The JPEG with a comment segment (COM, 0xFFFE) holding `comment`, placed after the leading APPn
 * segments (JFIF/Exif stay first). The pixels are untouched and decoders skip comments, so the
 * work per image is the same, but the bytes (and their sha256) differ: Argus's result cache and
 * in-flight sharing never see a repeat unless the benchmark means them to.
 */
export function withJpegComment(jpeg: Buffer, comment: string): Buffer {
  if (jpeg.length < 4 || jpeg[0] !== 0xff || jpeg[1] !== 0xd8) throw new Error('not a JPEG (no SOI marker)');
  const text = Buffer.from(comment, 'latin1');
  if (text.length > 65533) throw new RangeError('a JPEG comment holds at most 65533 bytes');
  let at = 2;
  while (at + 4 <= jpeg.length && jpeg[at] === 0xff && (jpeg[at + 1] as number) >= 0xe0 && (jpeg[at + 1] as number) <= 0xef) {
    at += 2 + jpeg.readUInt16BE(at + 2);
  }
  if (at > jpeg.length) throw new Error('truncated JPEG header');
  const segment = Buffer.alloc(4 + text.length);
  segment[0] = 0xff;
  segment[1] = 0xfe;
  segment.writeUInt16BE(2 + text.length, 2);
  text.copy(segment, 4);
  return Buffer.concat([jpeg.subarray(0, at), segment, jpeg.subarray(at)]);
}

/** One request's image: unique bytes of one of the photos. */
export interface Photo {
  /** Index into the mix. */
  index: number;
  name: string;
  bytes: Buffer;
}

/** The photo mix, handing out a unique variant of the next photo on every call (round robin). */
export class PhotoMix {
  private readonly originals: { name: string; bytes: Buffer }[];
  private seq = 0;

  constructor(
    paths: readonly string[],
    private readonly runId: string,
  ) {
    this.originals = paths.map((p) => ({ name: basename(p), bytes: readFileSync(p) }));
    if (this.originals.length === 0) throw new Error('the photo mix is empty');
  }

  get names(): string[] {
    return this.originals.map((o) => o.name);
  }

  /** The next photo with bytes no other call of this run gets. */
  next(): Photo {
    const seq = this.seq++;
    const index = seq % this.originals.length;
    const photo = this.originals[index] as { name: string; bytes: Buffer };
    return { index, name: photo.name, bytes: withJpegComment(photo.bytes, `argus-bench ${this.runId} ${seq}`) };
  }

  /** A unique variant of one photo (by index), e.g. for the cache and priority probes. */
  unique(index: number): Photo {
    const photo = this.originals[index % this.originals.length] as { name: string; bytes: Buffer };
    return { index, name: photo.name, bytes: withJpegComment(photo.bytes, `argus-bench ${this.runId} ${this.seq++}`) };
  }
}

import { exifOrientation } from './exif';
import { cutOff, damaged, type ImageHeader } from './header';
import { classifyIcc } from './icc';

/** Reads a WebP's size from its first chunk (VP8, VP8L or VP8X) and, when flagged, its EXIF chunk. */
export function readWebpHeader(b: Buffer): ImageHeader {
  if (b.length < 30) throw cutOff('WebP', 'it ends inside its header', b.length);
  const chunk = b.toString('latin1', 12, 16);
  const d = 20;
  switch (chunk) {
    case 'VP8 ': {
      if (b[d + 3] !== 0x9d || b[d + 4] !== 0x01 || b[d + 5] !== 0x2a) throw damaged('WebP', 'a bad VP8 start code');
      const width = b.readUInt16LE(d + 6) & 0x3fff;
      const height = b.readUInt16LE(d + 8) & 0x3fff;
      return sized(width, height, { orientation: 1, channels: 3, hasAlpha: false, icc: 'none' });
    }
    case 'VP8L': {
      if (b[d] !== 0x2f) throw damaged('WebP', 'a bad VP8L signature');
      const bits = b.readUInt32LE(d + 1);
      const alpha = ((bits >>> 28) & 1) === 1;
      return sized((bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1, {
        orientation: 1,
        channels: alpha ? 4 : 3,
        hasAlpha: alpha,
        icc: 'none',
      });
    }
    case 'VP8X': {
      const flags = b[d] as number;
      const width = 1 + b.readUIntLE(d + 4, 3);
      const height = 1 + b.readUIntLE(d + 7, 3);
      const alpha = (flags & 0x10) !== 0;
      const exif = (flags & 0x08) !== 0 ? findChunk(b, 'EXIF') : undefined;
      const orientation = exif ? exifOrientation(...exif) : 1;
      const icc = (flags & 0x20) !== 0 ? classifyIcc(iccChunk(b)) : 'none';
      return sized(width, height, { orientation, channels: alpha ? 4 : 3, hasAlpha: alpha, icc });
    }
    default:
      throw damaged('WebP', `an unknown first chunk "${chunk}"`);
  }
}

function sized(width: number, height: number, rest: Omit<ImageHeader, 'width' | 'height'>): ImageHeader {
  if (width === 0 || height === 0) throw damaged('WebP', `a size of ${width}x${height}`);
  return { width, height, ...rest };
}

/** [buffer, start, end] of the first chunk of this type, if any. */
function findChunk(b: Buffer, type: string): [Buffer, number, number] | undefined {
  const end = Math.min(b.length, 8 + b.readUInt32LE(4));
  for (let p = 12; p + 8 <= end; ) {
    const size = b.readUInt32LE(p + 4);
    if (b.toString('latin1', p, p + 4) === type) return [b, p + 8, Math.min(end, p + 8 + size)];
    p += 8 + size + (size & 1);
  }
  return undefined;
}

function iccChunk(b: Buffer): Buffer {
  const found = findChunk(b, 'ICCP');
  return found ? b.subarray(found[1], found[2]) : Buffer.alloc(0);
}

/** The RIFF header states the file's length; fewer bytes than that means the upload was cut off. */
export function webpIsComplete(b: Buffer): boolean {
  return b.length >= 8 + b.readUInt32LE(4);
}

import { exifOrientation } from './exif';
import { cutOff, damaged, type ImageHeader } from './header';
import { type IccProfileKind, classifyIcc, inflateIccp } from './icc';

const IEND = Buffer.from('IEND', 'latin1');

/** Reads a PNG's IHDR, and the tRNS and eXIf chunks that come before the image data. */
export function readPngHeader(b: Buffer): ImageHeader & { dataStart: number } {
  if (b.length < 33) throw cutOff('PNG', 'it ends inside its header', b.length);
  if (b.toString('latin1', 12, 16) !== 'IHDR' || b.readUInt32BE(8) < 13) throw damaged('PNG', 'no IHDR chunk first');
  const width = b.readUInt32BE(16);
  const height = b.readUInt32BE(20);
  const colourType = b[25] as number;
  if (width === 0 || height === 0) throw damaged('PNG', `a size of ${width}x${height}`);
  let orientation = 1;
  let transparency = false;
  let icc: IccProfileKind = 'none';
  let p = 8;
  for (;;) {
    if (p + 8 > b.length) throw cutOff('PNG', 'it ends before its image data', b.length);
    const length = b.readUInt32BE(p);
    const type = b.toString('latin1', p + 4, p + 8);
    const start = p + 8;
    const end = start + length;
    if (type === 'IDAT') {
      const base = colourType === 0 ? 1 : colourType === 4 ? 2 : colourType === 6 ? 4 : 3;
      const hasAlpha = colourType === 4 || colourType === 6 || transparency;
      return { width, height, orientation, channels: base + (transparency ? 1 : 0), hasAlpha, icc, dataStart: p };
    }
    if (end + 4 > b.length) throw cutOff('PNG', `it ends inside its ${type} chunk`, b.length);
    if (type === 'tRNS') transparency = true;
    else if (type === 'eXIf') orientation = exifOrientation(b, start, end);
    else if (type === 'iCCP') icc = classifyIcc(inflateIccp(b, start, end) ?? Buffer.alloc(0));
    else if (type === 'sRGB' && icc === 'none') icc = 'srgb';
    else if (type === 'IEND') throw damaged('PNG', 'it ends before any image data');
    p = end + 4;
  }
}

/** A complete PNG has its IEND chunk (zero length) after the first image data. */
export function pngIsComplete(b: Buffer, dataStart: number): boolean {
  const at = b.lastIndexOf(IEND);
  return at >= dataStart + 4 && b.readUInt32BE(at - 4) === 0;
}

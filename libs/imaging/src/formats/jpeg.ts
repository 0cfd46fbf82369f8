import { exifOrientation } from './exif';
import { cutOff, damaged, type ImageHeader } from './header';
import { type IccProfileKind, classifyIcc } from './icc';

const EOI = Buffer.from([0xff, 0xd9]);

/** True for the start-of-frame markers that carry the image size (not DHT, JPG or DAC). */
function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

/** Reads a JPEG's frame header and EXIF orientation by walking its marker segments up to the first scan. */
export function readJpegHeader(b: Buffer): ImageHeader & { scanStart: number } {
  let p = 2;
  let frame: { width: number; height: number; components: number } | undefined;
  let orientation = 1;
  let exifSeen = false;
  let icc: IccProfileKind = 'none';
  for (;;) {
    if (p >= b.length) throw cutOff('JPEG', 'it ends inside its header', b.length);
    if (b[p] !== 0xff) throw damaged('JPEG', `no marker at byte ${p}`);
    while (p < b.length && b[p] === 0xff) p++;
    if (p >= b.length) throw cutOff('JPEG', 'it ends inside its header', b.length);
    const marker = b[p++] as number;
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;
    if (marker === 0xd9) throw damaged('JPEG', 'it ends before any image data');
    if (p + 2 > b.length) throw cutOff('JPEG', 'it ends inside its header', b.length);
    const length = b.readUInt16BE(p);
    if (length < 2) throw damaged('JPEG', `a segment of length ${length} at byte ${p}`);
    const start = p + 2;
    const end = p + length;
    if (end > b.length) throw cutOff('JPEG', 'it ends inside its header', b.length);
    if (marker === 0xda) {
      if (!frame) throw damaged('JPEG', 'image data before the frame header');
      return { ...frame, orientation, channels: frame.components, hasAlpha: false, icc, scanStart: end };
    }
    // libvips takes the first Exif segment; later ones (edited copies, thumbnails) do not count.
    if (marker === 0xe1 && !exifSeen && b.toString('latin1', start, Math.min(start + 6, end)) === 'Exif\0\0') {
      exifSeen = true;
      orientation = exifOrientation(b, start, end);
    } else if (marker === 0xe2 && icc === 'none' && b.toString('latin1', start, Math.min(start + 12, end)) === 'ICC_PROFILE\0') {
      // Chunk 1 of the profile holds its header, tag table and (in practice) its description.
      icc = b[start + 12] === 1 ? classifyIcc(b.subarray(start + 14, end)) : 'other';
    } else if (isStartOfFrame(marker) && !frame) {
      if (length < 8) throw damaged('JPEG', 'a frame header too short to hold a size');
      const height = b.readUInt16BE(start + 1);
      const width = b.readUInt16BE(start + 3);
      if (width === 0 || height === 0) throw damaged('JPEG', `a frame size of ${width}x${height}`);
      frame = { width, height, components: b[start + 5] as number };
    }
    p = end;
  }
}

/**
 * A cut-off JPEG has no end-of-image marker after its first scan. Searching back from the end,
 * rather than requiring FFD9 as the last two bytes, keeps files that carry data after the image
 * (zero padding, phone "motion photo" videos, vendor trailers); entropy-coded data never holds
 * FFD9 (0xFF is stuffed), so a marker after the scan start is the real end.
 */
export function jpegIsComplete(b: Buffer, scanStart: number): boolean {
  return b.lastIndexOf(EOI) >= scanStart;
}

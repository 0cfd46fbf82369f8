import { ftypBrands } from './isobmff';

/** What the first bytes say a file is. */
export type Sniffed =
  | { kind: 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff' | 'avif' | 'heic' }
  | { kind: 'unsupported'; what: string }
  | { kind: 'unknown' };

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** ISO-BMFF brands of AVIF (still image, image sequence). */
const AVIF_BRANDS = new Set(['avif', 'avis']);
/** ISO-BMFF brands of HEVC-coded HEIF (HEIC) images and sequences, and of HEIF in general. */
const HEIC_BRANDS = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'mif1', 'msf1']);
/**
 * How far into a file an SVG's root element is looked for. libvips looks at the first 1000 bytes
 * (and inside gzip); comments and doctypes can push `<svg` further, so the refusal looks further.
 */
const SVG_SCAN_BYTES = 64 * 1024;

/**
 * Recognises a format by its signature; cheap, and never trusts a file name or a content type.
 * This is the allow-list: only the kinds named above ever reach a decoder.
 */
export function sniff(b: Buffer): Sniffed {
  const ascii = (from: number, to: number) => (b.length >= to ? b.toString('latin1', from, to) : '');
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return { kind: 'jpeg' };
  if (b.length >= 8 && b.subarray(0, 8).equals(PNG_SIGNATURE)) return { kind: 'png' };
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return { kind: 'webp' };
  if (ascii(0, 6) === 'GIF87a' || ascii(0, 6) === 'GIF89a') return { kind: 'gif' };
  const tiff = ascii(0, 4);
  if (tiff === 'II*\0' || tiff === 'MM\0*') return { kind: 'tiff' };
  if (ascii(4, 8) === 'ftyp' && b.length >= 12) return isobmff(ftypBrands(b));
  if (ascii(0, 5) === '%PDF-') return { kind: 'unsupported', what: 'PDF documents' };
  if (ascii(0, 4) === '8BPS') return { kind: 'unsupported', what: 'Photoshop (PSD) files' };
  if (b.length >= 4 && b[0] === 0 && b[1] === 0 && b[2] === 1 && b[3] === 0 && b.length > 6 && b[4] !== 0) {
    return { kind: 'unsupported', what: 'ICO icons' };
  }
  if (b.length >= 2 && b[0] === 0xff && b[1] === 0x0a) return { kind: 'unsupported', what: 'JPEG XL images' };
  if (ascii(4, 8) === 'JXL ' || ascii(4, 8) === 'jP  ') return { kind: 'unsupported', what: `${ascii(4, 8) === 'JXL ' ? 'JPEG XL' : 'JPEG 2000'} images` };
  if (ascii(0, 2) === 'BM' && b.length >= 18 && [12, 40, 52, 56, 64, 108, 124].includes(b.readUInt32LE(14))) {
    return { kind: 'unsupported', what: 'BMP images' };
  }
  if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) return { kind: 'unsupported', what: 'gzip-compressed files (an SVGZ drawing, say)' };
  if (looksLikeSvg(b)) return { kind: 'unsupported', what: 'SVG images' };
  return { kind: 'unknown' };
}

function isobmff(brands: readonly string[]): Sniffed {
  // A HEIF file often names the generic 'mif1' first and 'avif' among the compatible brands.
  if (brands.some((brand) => AVIF_BRANDS.has(brand))) return { kind: 'avif' };
  if (brands.some((brand) => HEIC_BRANDS.has(brand))) return { kind: 'heic' };
  return { kind: 'unsupported', what: `ISO media files of brand ${brands.map((brand) => JSON.stringify(brand)).join(', ')} (video, not a still image)` };
}

/**
 * Text that opens like markup (after a byte-order mark and white space) and names an `<svg`
 * element early on: an XML declaration, comments, a doctype or plain padding in front change nothing.
 */
function looksLikeSvg(b: Buffer): boolean {
  let head = b.toString('utf8', 0, Math.min(b.length, SVG_SCAN_BYTES));
  if (head.charCodeAt(0) === 0xfeff) head = head.slice(1);
  head = head.trimStart();
  return head.startsWith('<') && /<svg[\s>/]/i.test(head);
}

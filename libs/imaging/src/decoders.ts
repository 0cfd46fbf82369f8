import sharp from 'sharp';

/**
 * The libvips loaders of the formats Argus serves: JPEG, PNG, WebP, GIF, TIFF, and HEIF (AVIF;
 * HEIC only where libvips has an HEVC decoder). Every other loader is blocked: SVG (librsvg, an
 * XML parser and renderer), PDF, PPM, FITS, Radiance, raw camera files and the rest are attack
 * surface Argus has no use for.
 */
export const ALLOWED_LOADERS = Object.freeze([
  'VipsForeignLoadJpeg',
  'VipsForeignLoadPng',
  'VipsForeignLoadWebp',
  'VipsForeignLoadNsgif',
  'VipsForeignLoadTiff',
  'VipsForeignLoadHeif',
]);

let restricted = false;

/**
 * Blocks every libvips loader but {@link ALLOWED_LOADERS}, for the whole process (libvips picks a
 * loader from the bytes, whatever the caller meant, and its block list is process-wide). The
 * signature allow-list refuses other formats first; this makes sure that a file slipping past
 * it still never reaches librsvg or another decoder. Idempotent.
 */
export function restrictDecoders(): void {
  if (restricted) return;
  sharp.block({ operation: ['VipsForeignLoad'] });
  sharp.unblock({ operation: [...ALLOWED_LOADERS] });
  restricted = true;
}

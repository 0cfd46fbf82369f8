const ORIENTATION_TAG = 0x0112;

/**
 * The orientation (1-8) in an EXIF block, 1 when absent or unreadable. Reads IFD0 only, as
 * libvips does, so the size we report is the size sharp will decode. The block may start with
 * the "Exif\0\0" header (JPEG APP1, WebP EXIF) or directly with the TIFF header (PNG eXIf).
 */
export function exifOrientation(data: Buffer, start: number, end: number): number {
  let tiff = start;
  if (end - tiff >= 6 && data.toString('latin1', tiff, tiff + 6) === 'Exif\0\0') tiff += 6;
  if (end - tiff < 8) return 1;
  const order = data.toString('latin1', tiff, tiff + 2);
  if (order !== 'II' && order !== 'MM') return 1;
  const le = order === 'II';
  const u16 = (o: number) => (le ? data.readUInt16LE(o) : data.readUInt16BE(o));
  const u32 = (o: number) => (le ? data.readUInt32LE(o) : data.readUInt32BE(o));
  if (u16(tiff + 2) !== 42) return 1;
  const ifd = tiff + u32(tiff + 4);
  if (ifd < tiff + 8 || ifd + 2 > end) return 1;
  const count = u16(ifd);
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > end) break;
    if (u16(entry) !== ORIENTATION_TAG) continue;
    const type = u16(entry + 2);
    // SHORT is the standard type; LONG is tolerated because libexif tolerates it.
    const value = type === 3 ? u16(entry + 8) : type === 4 ? u32(entry + 8) : 0;
    return value >= 1 && value <= 8 ? value : 1;
  }
  return 1;
}

/** The brands of an ISO-BMFF file's ftyp box (major brand first). */
export function ftypBrands(b: Buffer): string[] {
  const size = b.readUInt32BE(0);
  const end = Math.min(b.length, size);
  const brands = [b.toString('latin1', 8, 12)];
  for (let p = 16; p + 4 <= end; p += 4) brands.push(b.toString('latin1', p, p + 4));
  return brands;
}

/** Top-level boxes must fit in the file: a box running past the end means the upload was cut off. */
export function isobmffIsComplete(b: Buffer): boolean {
  let p = 0;
  while (p + 8 <= b.length) {
    let size = b.readUInt32BE(p);
    if (size === 0) return true;
    if (size === 1) {
      if (p + 16 > b.length) return false;
      size = Number(b.readBigUInt64BE(p + 8));
    }
    if (size < 8) return false;
    p += size;
  }
  // A few stray bytes after the last box are padding, not a cut.
  return p <= b.length;
}

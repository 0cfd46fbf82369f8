import { inflateSync } from 'node:zlib';

/** What an embedded ICC profile means for decoding: nothing to convert, or a real conversion. */
export type IccProfileKind = 'none' | 'srgb' | 'other';

/**
 * Classifies an ICC profile by its colour space and description. An RGB profile describing itself
 * as sRGB makes the sRGB conversion a no-op (within one level) that still costs more than the
 * JPEG decode; anything else (Display P3, Adobe RGB, grey gamma, CMYK) needs converting.
 */
export function classifyIcc(profile: Buffer | undefined): IccProfileKind {
  if (!profile || profile.length < 132) return profile ? 'other' : 'none';
  if (profile.toString('latin1', 16, 20) !== 'RGB ') return 'other';
  const tags = profile.readUInt32BE(128);
  for (let i = 0; i < tags && 132 + i * 12 + 12 <= profile.length; i++) {
    const entry = 132 + i * 12;
    if (profile.toString('latin1', entry, entry + 4) !== 'desc') continue;
    const offset = profile.readUInt32BE(entry + 4);
    const size = profile.readUInt32BE(entry + 8);
    const text = descriptionText(profile, offset, Math.min(profile.length, offset + size));
    return /\bsRGB\b/i.test(text) ? 'srgb' : 'other';
  }
  return 'other';
}

function descriptionText(p: Buffer, start: number, end: number): string {
  if (end - start < 12) return '';
  const type = p.toString('latin1', start, start + 4);
  if (type === 'desc') {
    const count = p.readUInt32BE(start + 8);
    return p.toString('latin1', start + 12, Math.min(end, start + 12 + count));
  }
  if (type === 'mluc' && end - start >= 28) {
    const length = p.readUInt32BE(start + 20);
    const offset = p.readUInt32BE(start + 24);
    const from = start + offset;
    const to = Math.min(end, from + length);
    if (from >= to) return '';
    // UTF-16BE: swap into a copy, then decode as UTF-16LE.
    const text = Buffer.from(p.subarray(from, to - ((to - from) & 1)));
    return text.swap16().toString('utf16le');
  }
  return '';
}

/** The profile in a PNG iCCP chunk (keyword, 0, method, zlib data); undefined when unreadable. */
export function inflateIccp(b: Buffer, start: number, end: number): Buffer | undefined {
  const nul = b.indexOf(0, start);
  if (nul < 0 || nul + 2 > end) return undefined;
  try {
    // Real profiles are a few KiB (the largest sRGB v4 profile is 60 KiB); refuse a zip bomb.
    return inflateSync(b.subarray(nul + 2, end), { maxOutputLength: 1 << 20 });
  } catch {
    return undefined;
  }
}

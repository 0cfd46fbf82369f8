import type { Detection } from '@argus/contracts';
import sharp from 'sharp';
import { GLYPH_HEIGHT, textPath, textWidth } from './bitmap-font';

export type AnnotatedFormat = 'png' | 'jpeg';

/** The media type of each output format. */
export const FORMAT_TYPES: Readonly<Record<AnnotatedFormat, string>> = { png: 'image/png', jpeg: 'image/jpeg' };

/**
 * A distinct, stable colour per class id: hues a golden angle apart, so neighbouring ids (person,
 * bicycle, car...) get far-apart colours. Returns `#rrggbb`.
 */
export function classColour(classId: number): string {
  const hue = (classId * 137.508) % 360;
  const [r, g, b] = hslToRgb(hue, 0.85, 0.5);
  return `#${[r, g, b].map((v) => v.toString(16).padStart(2, '0')).join('')}`;
}

/** Black or white, whichever reads better on `hex`. */
export function textColourOn(hex: string): string {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255) as [number, number, number];
  const luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  return luminance > 0.5 ? '#000000' : '#ffffff';
}

function hslToRgb(h: number, s: number, l: number): [number, number, number] {
  const c = (1 - Math.abs(2 * l - 1)) * s;
  const x = c * (1 - Math.abs(((h / 60) % 2) - 1));
  const m = l - c / 2;
  const [r, g, b] = h < 60 ? [c, x, 0] : h < 120 ? [x, c, 0] : h < 180 ? [0, c, x] : h < 240 ? [0, x, c] : h < 300 ? [x, 0, c] : [c, 0, x];
  return [r, g, b].map((v) => Math.round((v + m) * 255)) as [number, number, number];
}

/** Line and label sizes for an image: readable on a phone photo and on a 4000 px one alike. */
export function drawingScale(width: number, height: number): { stroke: number; font: number } {
  const short = Math.min(width, height);
  return { stroke: Math.max(2, Math.round(short / 300)), font: Math.max(2, Math.round(short / 400)) };
}

/** The label text of a detection: `PERSON 0.91`. */
export function labelText(detection: Pick<Detection, 'label' | 'score'>): string {
  return `${detection.label} ${detection.score.toFixed(2)}`;
}

/**
 * Pure: an SVG of the image's size with one box and label per detection. Boxes are clamped to
 * the image; a label sits above its box, or inside it when there is no room above, and never
 * runs off the right edge. Higher scores are drawn last, so they end up on top.
 */
export function overlaySvg(width: number, height: number, detections: readonly Detection[]): string {
  const { stroke, font } = drawingScale(width, height);
  const pad = font;
  const labelHeight = GLYPH_HEIGHT * font + 2 * pad;
  const clamp = (v: number, max: number) => Math.min(max, Math.max(0, v));
  const shapes: string[] = [];
  for (const d of [...detections].sort((a, b) => a.score - b.score)) {
    const colour = classColour(d.classId);
    const x1 = clamp(d.box.x1, width);
    const y1 = clamp(d.box.y1, height);
    const x2 = clamp(d.box.x2, width);
    const y2 = clamp(d.box.y2, height);
    const w = Math.max(1, x2 - x1);
    const h = Math.max(1, y2 - y1);
    const half = stroke / 2;
    shapes.push(
      `<rect x="${fmt(x1 + half)}" y="${fmt(y1 + half)}" width="${fmt(Math.max(1, w - stroke))}" height="${fmt(Math.max(1, h - stroke))}" fill="none" stroke="${colour}" stroke-width="${stroke}"/>`,
    );
    const text = labelText(d);
    const labelWidth = textWidth(text, font) + 2 * pad;
    const lx = Math.round(Math.max(0, Math.min(x1, width - labelWidth)));
    const ly = Math.round(y1 >= labelHeight ? y1 - labelHeight : Math.min(y1, Math.max(0, height - labelHeight)));
    shapes.push(`<rect x="${lx}" y="${ly}" width="${labelWidth}" height="${labelHeight}" fill="${colour}"/>`);
    shapes.push(`<path d="${textPath(text, lx + pad, ly + pad, font)}" fill="${textColourOn(colour)}"/>`);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" shape-rendering="crispEdges">${shapes.join('')}</svg>`;
}

function fmt(v: number): string {
  return String(Math.round(v * 10) / 10);
}

/**
 * Picks the output format: `?format=` wins, then the Accept header; for `*\/*` (or none) the
 * original's kind (JPEG stays JPEG, anything else becomes PNG). Null when nothing acceptable.
 */
export function chooseFormat(query: string | undefined, accepts: (types: string[]) => string | false, originalIsJpeg: boolean): AnnotatedFormat | null | 'bad-query' {
  if (query !== undefined) {
    const q = query.toLowerCase();
    if (q === 'png') return 'png';
    if (q === 'jpeg' || q === 'jpg') return 'jpeg';
    return 'bad-query';
  }
  const preferred: AnnotatedFormat[] = originalIsJpeg ? ['jpeg', 'png'] : ['png', 'jpeg'];
  const chosen = accepts(preferred.map((f) => FORMAT_TYPES[f]));
  if (chosen === FORMAT_TYPES.png) return 'png';
  if (chosen === FORMAT_TYPES.jpeg) return 'jpeg';
  return null;
}

/**
 * Draws the detections on the original image: EXIF orientation applied first (boxes are in the
 * displayed image's pixels), the result the displayed size, in sRGB.
 */
export async function renderAnnotated(
  image: Buffer,
  detections: readonly Detection[],
  format: AnnotatedFormat,
  limitInputPixels: number,
): Promise<{ data: Buffer; width: number; height: number }> {
  const meta = await sharp(image, { limitInputPixels }).metadata();
  const turned = (meta.orientation ?? 1) >= 5;
  const width = (turned ? meta.height : meta.width) ?? 0;
  const height = (turned ? meta.width : meta.height) ?? 0;
  const svg = Buffer.from(overlaySvg(width, height, detections));
  const pipeline = sharp(image, { limitInputPixels })
    .rotate()
    .toColourspace('srgb')
    .composite([{ input: svg, top: 0, left: 0 }]);
  const data = format === 'png' ? await pipeline.png({ compressionLevel: 6 }).toBuffer() : await pipeline.jpeg({ quality: 90, mozjpeg: false }).toBuffer();
  return { data, width, height };
}

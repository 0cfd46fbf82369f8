import type { Detection } from '@argus/contracts';
import { type ImageLimits, probeImage } from '@argus/imaging';
import sharp from 'sharp';
import { GLYPH_HEIGHT, textRects, textWidth } from './bitmap-font';

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

/** The thickest line and the largest font pixel drawn: enough to read on a 10000 px photo, and they bound the overlay's memory. */
const MAX_STROKE = 12;
const MAX_FONT = 8;

/** Line and label sizes for an image: readable on a phone photo and on a 4000 px one alike. */
export function drawingScale(width: number, height: number): { stroke: number; font: number } {
  const short = Math.min(width, height);
  return { stroke: Math.min(MAX_STROKE, Math.max(2, Math.round(short / 300))), font: Math.min(MAX_FONT, Math.max(2, Math.round(short / 400))) };
}

/** The label text of a detection: `PERSON 0.91`. */
export function labelText(detection: Pick<Detection, 'label' | 'score'>): string {
  return `${detection.label} ${detection.score.toFixed(2)}`;
}

/** A block of RGBA pixels laid over the image with its top-left corner at (left, top). */
export interface OverlayLayer {
  left: number;
  top: number;
  width: number;
  height: number;
  /** At least width * height * 4 bytes, row after row; solid edges of one colour share one buffer. */
  rgba: Buffer;
}

/**
 * Pure: the overlay as blocks of pixels, four edges and a label per detection, drawn without
 * SVG (this process's sharp has no SVG loader: see @argus/imaging's decoders). Boxes are clamped
 * to the image; a label sits above its box, or inside it when there is no room above, and never
 * runs off the right edge. Higher scores come last, so they end up on top.
 */
export function overlayLayers(width: number, height: number, detections: readonly Detection[]): OverlayLayer[] {
  const { stroke, font } = drawingScale(width, height);
  const pad = font;
  const fullLabelHeight = GLYPH_HEIGHT * font + 2 * pad;
  // One buffer per colour, long enough for the longest edge: edges are views of it.
  const solids = new Map<string, Buffer>();
  const solid = (hex: string) => {
    let rgba = solids.get(hex);
    if (!rgba) {
      rgba = fill(Buffer.alloc(Math.max(width, height) * stroke * 4), rgbaOf(hex));
      solids.set(hex, rgba);
    }
    return rgba;
  };
  const layers: OverlayLayer[] = [];
  for (const d of [...detections].sort((a, b) => a.score - b.score)) {
    const colour = classColour(d.classId);
    const x1 = Math.min(width - 1, Math.max(0, Math.round(d.box.x1)));
    const y1 = Math.min(height - 1, Math.max(0, Math.round(d.box.y1)));
    const x2 = Math.min(width, Math.max(x1 + 1, Math.round(d.box.x2)));
    const y2 = Math.min(height, Math.max(y1 + 1, Math.round(d.box.y2)));
    const w = x2 - x1;
    const h = y2 - y1;
    const across = Math.min(stroke, h);
    const down = Math.min(stroke, w);
    const rgba = solid(colour);
    layers.push(
      { left: x1, top: y1, width: w, height: across, rgba },
      { left: x1, top: y2 - across, width: w, height: across, rgba },
      { left: x1, top: y1, width: down, height: h, rgba },
      { left: x2 - down, top: y1, width: down, height: h, rgba },
    );
    const text = labelText(d);
    const labelWidth = Math.min(width, textWidth(text, font) + 2 * pad);
    const labelHeight = Math.min(height, fullLabelHeight);
    const left = Math.max(0, Math.min(x1, width - labelWidth));
    const top = y1 >= labelHeight ? y1 - labelHeight : Math.min(y1, Math.max(0, height - labelHeight));
    layers.push({ left, top, width: labelWidth, height: labelHeight, rgba: labelPixels(text, labelWidth, labelHeight, pad, font, colour) });
  }
  return layers;
}

/** The label block: the class colour, the text in black or white on it (cut at the block's edge). */
function labelPixels(text: string, width: number, height: number, pad: number, font: number, colour: string): Buffer {
  const rgba = fill(Buffer.alloc(width * height * 4), rgbaOf(colour));
  const ink = rgbaOf(textColourOn(colour));
  for (const r of textRects(text, pad, pad, font)) {
    for (let y = r.y; y < Math.min(height, r.y + r.height); y++) {
      for (let x = r.x; x < Math.min(width, r.x + r.width); x++) ink.copy(rgba, (y * width + x) * 4);
    }
  }
  return rgba;
}

function rgbaOf(hex: string): Buffer {
  return Buffer.from([parseInt(hex.slice(1, 3), 16), parseInt(hex.slice(3, 5), 16), parseInt(hex.slice(5, 7), 16), 255]);
}

function fill(target: Buffer, pixel: Buffer): Buffer {
  for (let i = 0; i < target.length; i += 4) pixel.copy(target, i);
  return target;
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
 * displayed image's pixels), the result the displayed size, in sRGB. The image comes from Redis:
 * the probe checks its signature against the allow-list again before sharp decodes it.
 */
export async function renderAnnotated(
  image: Buffer,
  detections: readonly Detection[],
  format: AnnotatedFormat,
  limits: ImageLimits,
): Promise<{ data: Buffer; width: number; height: number }> {
  const { width, height } = await probeImage(image, limits);
  const pipeline = sharp(image, { limitInputPixels: limits.maxPixels })
    .rotate()
    .toColourspace('srgb')
    .composite(overlayLayers(width, height, detections).map((l) => ({ input: l.rgba.subarray(0, l.width * l.height * 4), raw: { width: l.width, height: l.height, channels: 4 as const }, left: l.left, top: l.top })));
  const data = format === 'png' ? await pipeline.png({ compressionLevel: 6 }).toBuffer() : await pipeline.jpeg({ quality: 90, mozjpeg: false }).toBuffer();
  return { data, width, height };
}

import { ImageError, type ImageLimits, type ImageProbe, probeImage } from '@argus/imaging';
import sharp from 'sharp';
import { messageOf } from './errors';
import { type Letterbox, letterboxGeometry } from './letterbox';
import type { ModelSpec, Preprocessing } from './model-spec';

/** One image ready for the model, and what is needed to map its boxes back. */
export interface PreparedImage {
  /** 3*H*W floats, planar (NCHW for one image), in the model's channel order and scale. */
  tensor: Float32Array;
  letterbox: Letterbox;
  /** Displayed width (EXIF orientation applied). */
  width: number;
  /** Displayed height (EXIF orientation applied). */
  height: number;
  /** Probe + decode + resize + tensor fill, in milliseconds. */
  preprocessMs: number;
}

/** How sharp decodes and resizes; the defaults are chosen and measured in docs/adr/0002 and 0014. */
export interface DecodeOptions {
  /** Resampling kernel; default: the model family's (lanczos3 for the YOLO families, linear for DETR). */
  kernel?: keyof sharp.KernelEnum;
  /**
   * Let JPEG and WebP decode at 1/2, 1/4 or 1/8 size when the target is that much smaller;
   * default: the model family's (on for the YOLO families, off for DETR).
   */
  fastShrinkOnLoad?: boolean;
  /**
   * Embedded ICC profiles: 'convert' always converts to sRGB through the profile (sharp's
   * default); 'skip-srgb' skips the conversion when the profile is itself sRGB, where it changes
   * no pixel by more than one level but costs more than the decode; 'ignore' never converts (as
   * OpenCV, the training loader, does), which moves scores on Display P3 and grey-gamma photos.
   */
  icc: 'convert' | 'skip-srgb' | 'ignore';
}

export const DEFAULT_DECODE: Readonly<DecodeOptions> = Object.freeze({ icc: 'skip-srgb' });

/** The grey both YOLO families were trained with in the letterbox border. */
export const PAD_VALUE = 114;

/**
 * Decodes an image (EXIF orientation applied; grey, CMYK and alpha images become 3-channel
 * sRGB; big JPEG/WebP decoded at reduced size by sharp's shrink-on-load), letterboxes it as the
 * model family expects and fills `into` (or a new tensor). Throws ImageError: the probe's codes,
 * corrupt_image when the pixels cannot be decoded. The bytes come from Redis, not straight from
 * the gateway's check, so the probe's signature allow-list runs again here before sharp is called.
 */
export async function preprocess(
  bytes: Buffer,
  spec: ModelSpec,
  limits: ImageLimits,
  into?: Float32Array,
  decode: Readonly<DecodeOptions> = DEFAULT_DECODE,
): Promise<PreparedImage> {
  const started = performance.now();
  const probe = await probeImage(bytes, limits);
  const { preprocessing } = spec;
  const letterbox = letterboxGeometry(preprocessing.placement, probe.width, probe.height, spec.inputWidth, spec.inputHeight);
  const plane = spec.inputWidth * spec.inputHeight;
  const tensor = into ?? new Float32Array(3 * plane);
  if (tensor.length !== 3 * plane) {
    throw new RangeError(`tensor holds ${tensor.length} floats; ${spec.inputWidth}x${spec.inputHeight}x3 needs ${3 * plane}`);
  }
  let pixels: { data: Buffer; info: sharp.OutputInfo };
  try {
    pixels = await sharp(bytes, { limitInputPixels: limits.maxPixels, failOn: 'error', ignoreIcc: skipIcc(decode, probe) })
      .rotate()
      .resize(letterbox.resizedWidth, letterbox.resizedHeight, {
        fit: 'fill',
        kernel: decode.kernel ?? preprocessing.kernel,
        fastShrinkOnLoad: decode.fastShrinkOnLoad ?? preprocessing.shrinkOnLoad,
      })
      // Transparent areas become the padding colour, the one the models know as "nothing
      // here"; dropping alpha instead would expose whatever colour the editor left underneath.
      .flatten({ background: { r: preprocessing.padValue, g: preprocessing.padValue, b: preprocessing.padValue } })
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (cause) {
    throw decodeError(cause, probe);
  }
  const { data, info } = pixels;
  if (info.width !== letterbox.resizedWidth || info.height !== letterbox.resizedHeight) {
    throw new Error(`sharp returned ${info.width}x${info.height}, not the ${letterbox.resizedWidth}x${letterbox.resizedHeight} asked for`);
  }
  fillTensor(tensor, data, info.channels, spec, letterbox);
  return {
    tensor,
    letterbox,
    width: probe.width,
    height: probe.height,
    preprocessMs: performance.now() - started,
  };
}

/** Per tensor plane: which colour of a pixel it reads, and the value table for that colour. */
interface Planes {
  source: readonly [number, number, number];
  tables: readonly [Float32Array, Float32Array, Float32Array];
}

// A spec's preprocessing is fixed for the session's life: its tables are built once.
const planesCache = new WeakMap<Preprocessing, Planes>();

/** The 256-entry value table of each plane: (v / divisor - mean) / std, one table read per sample. */
function planesOf(p: Preprocessing): Planes {
  let planes = planesCache.get(p);
  if (!planes) {
    const source = p.channels === 'rgb' ? ([0, 1, 2] as const) : ([2, 1, 0] as const);
    const table = (colour: number) =>
      Float32Array.from({ length: 256 }, (_, v) => (v / p.divisor - (p.mean[colour] as number)) / (p.std[colour] as number));
    planes = { source, tables: [table(source[0]), table(source[1]), table(source[2])] };
    planesCache.set(p, planes);
  }
  return planes;
}

/**
 * Writes interleaved 8-bit pixels into the planar tensor at the letterbox position and pads the
 * rest. One pass, no intermediate arrays: this loop is a measurable part of every request.
 */
function fillTensor(tensor: Float32Array, data: Buffer, channels: number, spec: ModelSpec, lb: Letterbox): void {
  const width = spec.inputWidth;
  const plane = width * spec.inputHeight;
  const { padX, padY, resizedWidth: rw, resizedHeight: rh } = lb;
  const { source, tables } = planesOf(spec.preprocessing);
  const [t0, t1, t2] = tables;
  let [first, middle, last] = source;
  // sharp is asked for sRGB, so 3 channels; a grey result would still fill all three planes.
  if (channels < 3) first = middle = last = 0;
  const p1 = plane;
  const p2 = 2 * plane;
  for (let y = 0; y < rh; y++) {
    let src = y * rw * channels;
    let dst = (padY + y) * width + padX;
    const end = dst + rw;
    for (; dst < end; dst++, src += channels) {
      tensor[dst] = t0[data[src + first] as number] as number;
      tensor[dst + p1] = t1[data[src + middle] as number] as number;
      tensor[dst + p2] = t2[data[src + last] as number] as number;
    }
  }
  const padValue = spec.preprocessing.padValue;
  for (const [c, table] of tables.entries()) {
    const pad = table[padValue] as number;
    const base = c * plane;
    tensor.fill(pad, base, base + padY * width);
    for (let y = padY; y < padY + rh; y++) {
      const row = base + y * width;
      if (padX > 0) tensor.fill(pad, row, row + padX);
      tensor.fill(pad, row + padX + rw, row + width);
    }
    tensor.fill(pad, base + (padY + rh) * width, base + plane);
  }
}

function skipIcc(decode: DecodeOptions, probe: ImageProbe): boolean {
  switch (decode.icc) {
    case 'convert':
      return false;
    case 'ignore':
      return true;
    case 'skip-srgb':
      return probe.icc === 'srgb';
  }
}

function decodeError(cause: unknown, probe: ImageProbe): ImageError {
  const message = messageOf(cause);
  const format = probe.format.toUpperCase();
  if (/exceeds pixel limit/i.test(message)) {
    return new ImageError('image_too_large', `the ${format} image is over the pixel limit (${message}); downscale it before sending`, { cause });
  }
  // libjpeg's "premature end of data segment" is damage inside the data, not a short file.
  if (/premature end of (jpeg )?file|truncat|unexpected end|not enough data/i.test(message)) {
    return new ImageError('truncated_image', `the ${format} image is cut off (${firstLine(message)}); send the whole file`, { cause });
  }
  return new ImageError('corrupt_image', `the ${format} image cannot be decoded (${firstLine(message)}); it is damaged, re-save it`, { cause });
}

function firstLine(s: string): string {
  return s.split('\n')[0]?.trim() ?? s;
}

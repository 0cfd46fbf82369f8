import sharp from 'sharp';
import { restrictDecoders } from './decoders';
import { cutOff, type ImageHeader } from './formats/header';
import { type IccProfileKind, classifyIcc } from './formats/icc';
import { ftypBrands, isobmffIsComplete } from './formats/isobmff';
import { jpegIsComplete, readJpegHeader } from './formats/jpeg';
import { pngIsComplete, readPngHeader } from './formats/png';
import { sniff } from './formats/sniff';
import { readWebpHeader, webpIsComplete } from './formats/webp';
import { ImageError } from './image-error';
import { formatBytes, formatMegapixels, formatOverLimit } from './units';

/** The most an image may weigh and hold; both come from configuration (MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS). */
export interface ImageLimits {
  maxBytes: number;
  maxPixels: number;
}

/** The formats Argus decodes. */
export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff' | 'avif' | 'heif';

/** What the header says about an image, before any pixel is decoded. */
export interface ImageProbe {
  format: ImageFormat;
  /** Displayed width: EXIF orientation applied (a 425x640 photo tagged "rotate 90" is 640 wide). */
  width: number;
  /** Displayed height: EXIF orientation applied. */
  height: number;
  /** EXIF orientation, 1-8 (1 when there is none). */
  orientation: number;
  /** Channels as stored: 1 grey, 2 grey+alpha, 3 colour, 4 colour+alpha or CMYK. */
  channels: number;
  hasAlpha: boolean;
  /** The embedded colour profile: none, sRGB (nothing to convert), or one that needs converting. */
  icc: IccProfileKind;
  bytes: number;
}

const SUPPORTED = 'send a JPEG, PNG, WebP, GIF, TIFF or AVIF image';

// Whoever probes images decodes them next (the gateway, the inference workers, the CLI): from
// here on this process's sharp decodes only the allowed formats.
restrictDecoders();

/**
 * Checks an upload from its header alone, without decoding pixels: size, format, dimensions,
 * the pixel limit, and trailer checks that catch a cut-off upload. The format comes from the
 * signature and must be on the allow-list (JPEG, PNG, WebP, GIF, TIFF, AVIF) before any decoder
 * sees a byte: SVG, PDF and everything unrecognised are refused here. JPEG, PNG and WebP headers
 * are read here in a few microseconds; GIF, TIFF and AVIF ask sharp for their header.
 */
export async function probeImage(bytes: Buffer, limits: ImageLimits): Promise<ImageProbe> {
  if (bytes.length === 0) throw new ImageError('empty_image', `the image is empty (0 bytes); ${SUPPORTED}`);
  if (bytes.length > limits.maxBytes) {
    const [size, limit] = formatOverLimit(bytes.length, limits.maxBytes, formatBytes, 'bytes');
    throw new ImageError('payload_too_large', `the image is ${size}; the limit is ${limit}. Send a smaller or more compressed file`);
  }
  const sniffed = sniff(bytes);
  let format: ImageFormat;
  let header: ImageHeader;
  let complete: () => boolean = () => true;
  switch (sniffed.kind) {
    case 'jpeg': {
      const h = readJpegHeader(bytes);
      format = 'jpeg';
      header = h;
      complete = () => jpegIsComplete(bytes, h.scanStart);
      break;
    }
    case 'png': {
      const h = readPngHeader(bytes);
      format = 'png';
      header = h;
      complete = () => pngIsComplete(bytes, h.dataStart);
      break;
    }
    case 'webp':
      format = 'webp';
      header = readWebpHeader(bytes);
      complete = () => webpIsComplete(bytes);
      break;
    case 'unsupported':
      throw new ImageError('unsupported_image_type', `${sniffed.what} are not supported; ${SUPPORTED}`);
    case 'unknown':
      throw new ImageError('not_an_image', `the data is not an image (no known image signature); ${SUPPORTED}`);
    case 'heic':
      if (!HEIC_DECODER) throw new ImageError('unsupported_image_type', `HEIC (HEVC-coded HEIF) images are not supported; ${SUPPORTED}`);
      ({ format, header } = await probeWithSharp(bytes, sniffed.kind));
      complete = () => isobmffIsComplete(bytes);
      break;
    case 'avif':
      ({ format, header } = await probeWithSharp(bytes, sniffed.kind));
      complete = () => isobmffIsComplete(bytes);
      break;
    case 'gif':
    case 'tiff':
      ({ format, header } = await probeWithSharp(bytes, sniffed.kind));
      break;
  }
  const turned = header.orientation >= 5;
  const width = turned ? header.height : header.width;
  const height = turned ? header.width : header.height;
  if (width * height > limits.maxPixels) {
    const [pixels, limit] = formatOverLimit(width * height, limits.maxPixels, formatMegapixels, 'pixels');
    throw new ImageError('image_too_large', `the image is ${width}x${height} = ${pixels}; the limit is ${limit}. Downscale it before sending`);
  }
  if (!complete()) throw cutOff(format.toUpperCase(), 'its end is missing', bytes.length);
  return {
    format,
    width,
    height,
    orientation: header.orientation,
    channels: header.channels,
    hasAlpha: header.hasAlpha,
    icc: header.icc,
    bytes: bytes.length,
  };
}

// The prebuilt sharp decodes AVIF but not HEVC-coded HEIF (patents); a libvips with libde265 does.
const HEIC_DECODER = sharp.format.heif.input.fileSuffix?.includes('.heic') ?? false;

/** The formats sharp may report for each signature (an AVIF signature holding HEVC is HEIC). */
const EXPECTED: Readonly<Record<'gif' | 'tiff' | 'avif' | 'heic', readonly ImageFormat[]>> = {
  gif: ['gif'],
  tiff: ['tiff'],
  avif: ['avif', 'heif'],
  heic: ['avif', 'heif'],
};

async function probeWithSharp(bytes: Buffer, kind: 'gif' | 'tiff' | 'avif' | 'heic'): Promise<{ format: ImageFormat; header: ImageHeader }> {
  let meta: sharp.Metadata;
  try {
    // No pixel limit here: the limit is ours to report, with the image's real size in the message.
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (cause) {
    if (kind === 'avif' || kind === 'heic') {
      const brands = ftypBrands(bytes).join(', ');
      throw new ImageError('unsupported_image_type', `this ISO media file (brands ${brands}) holds no decodable image; ${SUPPORTED}`, { cause });
    }
    throw new ImageError('corrupt_image', `the ${kind.toUpperCase()} header cannot be read (${reason(cause)}); re-save the image`, { cause });
  }
  const format = acceptedFormat(meta);
  // libvips chose its loader from the bytes: it must be the one the signature named.
  if (!format || !EXPECTED[kind].includes(format)) {
    const what = meta.format === 'heif' ? 'HEIC (HEVC-coded HEIF)' : (meta.format ?? 'this').toUpperCase();
    throw new ImageError('unsupported_image_type', `${what} images are not supported; ${SUPPORTED}`);
  }
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (width === 0 || height === 0) {
    throw new ImageError('corrupt_image', `the ${format.toUpperCase()} header gives no size; re-save the image`);
  }
  const channels = meta.channels ?? 3;
  return {
    format,
    header: {
      width,
      height,
      orientation: meta.orientation ?? 1,
      channels,
      hasAlpha: meta.hasAlpha ?? false,
      icc: classifyIcc(meta.icc),
    },
  };
}

function acceptedFormat(meta: sharp.Metadata): ImageFormat | undefined {
  switch (meta.format) {
    case 'jpeg':
    case 'png':
    case 'webp':
    case 'gif':
    case 'tiff':
      return meta.format;
    case 'heif':
      if (meta.compression === 'av1') return 'avif';
      return HEIC_DECODER ? 'heif' : undefined;
    default:
      return undefined;
  }
}

function reason(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

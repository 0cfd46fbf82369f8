export { ImageError, isImageError, type ImageErrorCode } from './image-error';
export { ALLOWED_LOADERS, restrictDecoders } from './decoders';
export { probeImage, type ImageFormat, type ImageLimits, type ImageProbe } from './probe-image';
export { formatBytes, formatMegapixels, formatOverLimit } from './units';
export { type IccProfileKind, classifyIcc } from './formats/icc';

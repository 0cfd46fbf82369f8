import { ImageError } from '../image-error';
import type { IccProfileKind } from './icc';

/** What a header parser reads: the STORED size (before EXIF orientation) and the pixel layout. */
export interface ImageHeader {
  width: number;
  height: number;
  orientation: number;
  channels: number;
  hasAlpha: boolean;
  icc: IccProfileKind;
}

/** A header that ends before it should: the upload was cut off. */
export function cutOff(format: string, where: string, bytes: number): ImageError {
  return new ImageError(
    'truncated_image',
    `the ${format} file is cut off (${where}; ${bytes} bytes received): the upload is incomplete, send the whole file`,
  );
}

/** A header that makes no sense: the file is damaged, not just short. */
export function damaged(format: string, what: string): ImageError {
  return new ImageError('corrupt_image', `the ${format} file is damaged (${what}); re-export or re-save the image`);
}

import type { Placement } from './model-spec';

/** Where the resized image sits in the model input, and how to map boxes back. */
export interface Letterbox {
  /** Model-input pixels per displayed-image pixel. */
  scale: number;
  /** Left padding in model-input pixels (0 for YOLOX, which pads right and bottom). */
  padX: number;
  /** Top padding in model-input pixels. */
  padY: number;
  resizedWidth: number;
  resizedHeight: number;
}

/**
 * Letterbox geometry as each family was trained (see {@link Placement}): YOLOX truncates the
 * resized size and places it top-left; Ultralytics rounds it and centres it with top =
 * round(dh - 0.1); the DETR family truncates it and centres it with top = floor(dh).
 */
export function letterboxGeometry(
  placement: Placement,
  srcWidth: number,
  srcHeight: number,
  inputWidth: number,
  inputHeight: number,
): Letterbox {
  if (!(srcWidth > 0 && srcHeight > 0 && inputWidth > 0 && inputHeight > 0)) {
    throw new RangeError(`letterbox of ${srcWidth}x${srcHeight} into ${inputWidth}x${inputHeight}: sizes must be positive`);
  }
  const scale = Math.min(inputHeight / srcHeight, inputWidth / srcWidth);
  switch (placement) {
    case 'top-left': {
      // YOLOX demo: int(w * r); at least one pixel so a 1x5000 strip still decodes.
      const resizedWidth = Math.max(1, Math.floor(srcWidth * scale));
      const resizedHeight = Math.max(1, Math.floor(srcHeight * scale));
      return { scale, padX: 0, padY: 0, resizedWidth, resizedHeight };
    }
    case 'centre-rounded': {
      const resizedWidth = Math.max(1, pythonRound(srcWidth * scale));
      const resizedHeight = Math.max(1, pythonRound(srcHeight * scale));
      const dw = (inputWidth - resizedWidth) / 2;
      const dh = (inputHeight - resizedHeight) / 2;
      return { scale, padX: pythonRound(dw - 0.1), padY: pythonRound(dh - 0.1), resizedWidth, resizedHeight };
    }
    case 'centre-floored': {
      // The DETR family's reference script: int(w * r), pasted at (W - w') // 2.
      const resizedWidth = Math.max(1, Math.floor(srcWidth * scale));
      const resizedHeight = Math.max(1, Math.floor(srcHeight * scale));
      const padX = Math.floor((inputWidth - resizedWidth) / 2);
      const padY = Math.floor((inputHeight - resizedHeight) / 2);
      return { scale, padX, padY, resizedWidth, resizedHeight };
    }
  }
}

/** Python's round(): halves go to the even neighbour (Ultralytics computes its letterbox with it). */
export function pythonRound(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

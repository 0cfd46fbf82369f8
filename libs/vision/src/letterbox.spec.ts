import { letterboxGeometry, pythonRound } from './letterbox';

// Expected values computed with Python, exactly as the YOLOX demo and Ultralytics LetterBox do:
// r = min(H/h, W/w); YOLOX int(w*r); Ultralytics round(w*r), top = round(dh - 0.1).
describe(letterboxGeometry.name, () => {
  describe('YOLOX: truncated size, top-left, no offset', () => {
    it.each([
      [640, 480, 0.65, 416, 312],
      [810, 1080, 0.3851851851851852, 312, 416],
      [2725, 2225, 0.1526605504587156, 416, 339],
      [425, 640, 0.65, 276, 416],
      [641, 479, 0.6489859594383776, 416, 310],
      [773, 512, 0.538163001293661, 415, 275], // floor, not round: 416.0 is not reached
      [638, 640, 0.65, 414, 416],
      [10, 10, 41.6, 416, 416], // small images are scaled up
    ])('%ix%i -> scale %d, %ix%i', (w, h, scale, rw, rh) => {
      expect(letterboxGeometry('top-left', w, h, 416, 416)).toEqual({ scale, padX: 0, padY: 0, resizedWidth: rw, resizedHeight: rh });
    });
  });

  describe('YOLOv8: rounded size, centred with round(d - 0.1)', () => {
    it.each([
      [640, 480, 1, 640, 480, 0, 80],
      [810, 1080, 0.5925925925925926, 480, 640, 80, 0],
      [2725, 2225, 0.23486238532110093, 640, 523, 0, 58], // odd padding: 58 on top, 59 below
      [425, 640, 1, 425, 640, 107, 0], // 215 columns of padding: 107 left, 108 right
      [641, 479, 0.9984399375975039, 640, 478, 0, 81],
      [1280, 720, 0.5, 640, 360, 0, 140],
      [773, 512, 0.8279430789133247, 640, 424, 0, 108],
      [638, 640, 1, 638, 640, 1, 0],
    ])('%ix%i -> scale %d, %ix%i at (%i, %i)', (w, h, scale, rw, rh, padX, padY) => {
      expect(letterboxGeometry('centre-rounded', w, h, 640, 640)).toEqual({ scale, padX, padY, resizedWidth: rw, resizedHeight: rh });
    });
  });

  describe('DETR family: truncated size, centred with floor(d), as the upstream reference script pastes it', () => {
    it.each([
      [773, 512, 0.4139715394566624, 320, 211, 0, 54],
      [810, 1080, 0.2962962962962963, 240, 320, 40, 0],
      [425, 640, 0.5, 212, 320, 54, 0], // 108 columns of padding: 54 each side
      [1280, 720, 0.25, 320, 180, 0, 70],
      [2725, 2225, 0.11743119266055047, 320, 261, 0, 29], // odd padding: 29 on top, 30 below
      [638, 640, 0.5, 319, 320, 0, 0], // one column of padding, on the right
      [10, 10, 32, 320, 320, 0, 0],
    ])('%ix%i -> scale %d, %ix%i at (%i, %i)', (w, h, scale, rw, rh, padX, padY) => {
      expect(letterboxGeometry('centre-floored', w, h, 320, 320)).toEqual({ scale, padX, padY, resizedWidth: rw, resizedHeight: rh });
    });
  });

  it('keeps at least one pixel of a very thin image (Python would ask cv2 for width 0)', () => {
    expect(letterboxGeometry('top-left', 1, 5000, 416, 416)).toMatchObject({ resizedWidth: 1, resizedHeight: 416 });
    expect(letterboxGeometry('centre-rounded', 1, 5000, 640, 640)).toMatchObject({ resizedWidth: 1, resizedHeight: 640, padX: 319 });
    expect(letterboxGeometry('centre-floored', 1, 5000, 320, 320)).toMatchObject({ resizedWidth: 1, resizedHeight: 320, padX: 159 });
  });

  it('handles non-square inputs', () => {
    expect(letterboxGeometry('centre-rounded', 1280, 720, 640, 384)).toEqual({
      scale: 0.5,
      padX: 0,
      padY: 12,
      resizedWidth: 640,
      resizedHeight: 360,
    });
  });

  it('refuses empty sizes', () => {
    expect(() => letterboxGeometry('top-left', 0, 10, 416, 416)).toThrow(RangeError);
  });
});

describe(pythonRound.name, () => {
  it('rounds halves to even, as Python does', () => {
    expect([0.5, 1.5, 2.5, 3.5, -0.5, -1.5].map(pythonRound)).toEqual([0, 2, 2, 4, 0, -2]);
    expect([79.9, 80.1, 57.4, 58.6, -0.1].map(pythonRound)).toEqual([80, 80, 57, 59, 0]);
  });
});

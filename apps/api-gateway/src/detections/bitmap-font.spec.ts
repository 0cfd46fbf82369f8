import { GLYPH_WIDTH, textRects, textWidth } from './bitmap-font';

describe('bitmap font', () => {
  it('draws lit pixels as rectangles at the given scale', () => {
    // '-' is one row of five lit pixels: one run, one rectangle.
    expect(textRects('-', 10, 20, 2)).toEqual([{ x: 10, y: 26, width: 10, height: 2 }]);
  });

  it('draws lower case as upper case and unknown characters as ?', () => {
    expect(textRects('a', 0, 0, 1)).toEqual(textRects('A', 0, 0, 1));
    expect(textRects('é', 0, 0, 1)).toEqual(textRects('?', 0, 0, 1));
    expect(textRects(' ', 0, 0, 1)).toEqual([]);
  });

  it('advances one cell per character', () => {
    expect(textWidth('ab', 3)).toBe((2 * GLYPH_WIDTH - 1) * 3);
    expect(textRects('--', 0, 0, 1)).toEqual([
      { x: 0, y: 3, width: 5, height: 1 },
      { x: GLYPH_WIDTH, y: 3, width: 5, height: 1 },
    ]);
  });
});

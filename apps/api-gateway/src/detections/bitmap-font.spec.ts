import { GLYPH_WIDTH, textPath, textWidth } from './bitmap-font';

describe('bitmap font', () => {
  it('draws lit pixels as rectangles at the given scale', () => {
    // '-' is one row of five lit pixels: one run, one rectangle.
    expect(textPath('-', 10, 20, 2)).toBe('M10 26h10v2h-10z');
  });

  it('draws lower case as upper case and unknown characters as ?', () => {
    expect(textPath('a', 0, 0, 1)).toBe(textPath('A', 0, 0, 1));
    expect(textPath('é', 0, 0, 1)).toBe(textPath('?', 0, 0, 1));
    expect(textPath(' ', 0, 0, 1)).toBe('');
  });

  it('advances one cell per character', () => {
    expect(textWidth('ab', 3)).toBe((2 * GLYPH_WIDTH - 1) * 3);
    expect(textPath('--', 0, 0, 1)).toBe(`M0 3h5v1h-5zM${GLYPH_WIDTH} 3h5v1h-5z`);
  });
});

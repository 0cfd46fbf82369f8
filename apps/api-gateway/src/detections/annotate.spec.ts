import type { Detection } from '@argus/contracts';
import sharp from 'sharp';
import { chooseFormat, classColour, drawingScale, labelText, type OverlayLayer, overlayLayers, renderAnnotated, textColourOn } from './annotate';

const person: Detection = { label: 'person', classId: 0, score: 0.912, box: { x1: 10, y1: 40, x2: 60, y2: 90 } };
const LIMITS = { maxBytes: 20 * 1024 * 1024, maxPixels: 1e8 };
const bus: Detection = { label: 'bus', classId: 5, score: 0.5, box: { x1: 0, y1: 0, x2: 100, y2: 30 } };

describe('classColour', () => {
  it('gives the 80 COCO classes 80 different colours, neighbours far apart in hue', () => {
    const colours = Array.from({ length: 80 }, (_, id) => classColour(id));
    expect(new Set(colours).size).toBe(80);
    for (const c of colours) expect(c).toMatch(/^#[0-9a-f]{6}$/);
    expect(classColour(0)).not.toBe(classColour(1));
    expect(classColour(7)).toBe(classColour(7));
  });

  it('writes black on light colours and white on dark ones', () => {
    expect(textColourOn('#ffff00')).toBe('#000000');
    expect(textColourOn('#0000aa')).toBe('#ffffff');
  });
});

describe('overlayLayers', () => {
  const rgb = (hex: string) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  const pixel = (l: { width: number; rgba: Buffer }, x: number, y: number) => Array.from(l.rgba.subarray((y * l.width + x) * 4, (y * l.width + x) * 4 + 4));

  it('draws four edges and a label per detection, the label above its box when there is room', () => {
    const layers = overlayLayers(200, 100, [person]);
    expect(layers).toHaveLength(5);
    const [top, bottom, left, right, label] = layers as [OverlayLayer, OverlayLayer, OverlayLayer, OverlayLayer, OverlayLayer];
    const { stroke } = drawingScale(200, 100);
    expect([top, bottom, left, right].map((l) => [l.left, l.top, l.width, l.height])).toEqual([
      [10, 40, 50, stroke],
      [10, 90 - stroke, 50, stroke],
      [10, 40, stroke, 50],
      [60 - stroke, 40, stroke, 50],
    ]);
    expect(pixel(top, 0, 0)).toEqual([...rgb(classColour(0)), 255]);
    expect(label.left).toBe(10);
    expect(label.top + label.height).toBe(40); // ends where the box begins
    expect(label.rgba.length).toBe(label.width * label.height * 4);
    // the corner is the class colour; somewhere inside, the text's ink
    expect(pixel(label, 0, 0)).toEqual([...rgb(classColour(0)), 255]);
    const ink = [...rgb(textColourOn(classColour(0))), 255];
    const inked = Array.from({ length: label.width * label.height }, (_, i) => pixel(label, i % label.width, Math.floor(i / label.width))).filter((p) => p.join() === ink.join());
    expect(inked.length).toBeGreaterThan(20);
  });

  it('puts a label inside its box when the box touches the top, and never past the right edge', () => {
    const layers = overlayLayers(120, 100, [{ ...bus, box: { x1: 90, y1: 0, x2: 120, y2: 30 } }]);
    const label = layers[4] as OverlayLayer;
    expect(label.top).toBe(0);
    expect(label.left + label.width).toBeLessThanOrEqual(120);
  });

  it('clamps boxes to the image and draws higher scores last (on top)', () => {
    const layers = overlayLayers(50, 50, [{ ...person, score: 0.99, box: { x1: -10, y1: -5, x2: 80, y2: 70 } }, { ...bus, score: 0.3 }]);
    expect(pixel(layers[0] as OverlayLayer, 0, 0).slice(0, 3)).toEqual(rgb(classColour(5)));
    expect(pixel(layers[5] as OverlayLayer, 0, 0).slice(0, 3)).toEqual(rgb(classColour(0)));
    for (const l of layers) {
      expect(l.left).toBeGreaterThanOrEqual(0);
      expect(l.top).toBeGreaterThanOrEqual(0);
      expect(l.left + l.width).toBeLessThanOrEqual(50);
      expect(l.top + l.height).toBeLessThanOrEqual(50);
      expect(l.rgba.length).toBeGreaterThanOrEqual(l.width * l.height * 4);
    }
  });

  it('keeps a degenerate box (zero size, or off the image) to at least one pixel inside it', () => {
    const layers = overlayLayers(40, 30, [{ ...person, box: { x1: 45, y1: 31, x2: 45, y2: 31 } }]);
    for (const l of layers.slice(0, 4)) expect([l.left + l.width <= 40, l.top + l.height <= 30, l.width >= 1, l.height >= 1]).toEqual([true, true, true, true]);
  });

  it('scales lines and letters with the image, up to a bound', () => {
    expect(drawingScale(640, 480)).toEqual({ stroke: 2, font: 2 });
    expect(drawingScale(4000, 3000).font).toBeGreaterThan(drawingScale(640, 480).font);
    expect(drawingScale(10000, 10000)).toEqual({ stroke: 12, font: 8 });
    expect(labelText(person)).toBe('person 0.91');
  });
});

describe('chooseFormat', () => {
  const accepts = (header: string) => (types: string[]) => {
    if (header === '*/*') return types[0] ?? false;
    return types.find((t) => header.includes(t)) ?? false;
  };

  it('lets ?format= win over Accept', () => {
    expect(chooseFormat('png', accepts('image/jpeg'), true)).toBe('png');
    expect(chooseFormat('JPG', accepts('image/png'), false)).toBe('jpeg');
    expect(chooseFormat('gif', accepts('*/*'), true)).toBe('bad-query');
  });

  it('follows Accept, and for */* keeps a JPEG a JPEG and makes anything else PNG', () => {
    expect(chooseFormat(undefined, accepts('image/png'), true)).toBe('png');
    expect(chooseFormat(undefined, accepts('*/*'), true)).toBe('jpeg');
    expect(chooseFormat(undefined, accepts('*/*'), false)).toBe('png');
    expect(chooseFormat(undefined, accepts('application/json'), false)).toBeNull();
  });
});

describe(renderAnnotated.name, () => {
  it('applies EXIF orientation first: a stored 60x40 photo tagged "rotate 90" comes out 40x60 with the box drawn', async () => {
    const stored = await sharp({ create: { width: 60, height: 40, channels: 3, background: '#808080' } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const out = await renderAnnotated(stored, [{ ...person, box: { x1: 5, y1: 5, x2: 35, y2: 55 } }], 'png', LIMITS);
    expect([out.width, out.height]).toEqual([40, 60]);
    const { data, info } = await sharp(out.data).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([40, 60]);
    const at = (x: number, y: number) => Array.from(data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3));
    const colour = classColour(0);
    const expected = [1, 3, 5].map((i) => parseInt(colour.slice(i, i + 2), 16));
    const close = (a: number[], b: number[], tolerance: number) => a.every((v, i) => Math.abs(v - (b[i] ?? 0)) <= tolerance);
    expect(close(at(5, 30), expected, 2)).toBe(true); // the box's left edge, in the displayed frame
    expect(close(at(20, 30), [128, 128, 128], 3)).toBe(true); // inside the box: the photo
  });

  it('refuses an SVG that reached the image store, by its signature, before sharp decodes it', async () => {
    const svg = Buffer.from(`<?xml version="1.0"?><!--${'x'.repeat(4000)}--><svg xmlns="http://www.w3.org/2000/svg" width="30" height="20"/>`);
    await expect(renderAnnotated(svg, [person], 'png', LIMITS)).rejects.toMatchObject({ name: 'ImageError', code: 'unsupported_image_type' });
  });

  it('draws the label text in the ink colour on a real image', async () => {
    const stored = await sharp({ create: { width: 200, height: 120, channels: 3, background: '#808080' } }).png().toBuffer();
    const out = await renderAnnotated(stored, [{ ...person, box: { x1: 20, y1: 60, x2: 180, y2: 110 } }], 'png', LIMITS);
    const { data, info } = await sharp(out.data).raw().toBuffer({ resolveWithObject: true });
    const ink = textColourOn(classColour(0)) === '#000000' ? 0 : 255;
    let inked = 0;
    for (let y = 40; y < 60; y++) for (let x = 20; x < 120; x++) if (data[(y * info.width + x) * info.channels] === ink) inked++;
    expect(inked).toBeGreaterThan(20);
  });

  it('writes JPEG when asked', async () => {
    const png = await sharp({ create: { width: 30, height: 20, channels: 3, background: '#123456' } }).png().toBuffer();
    const out = await renderAnnotated(png, [], 'jpeg', LIMITS);
    expect((await sharp(out.data).metadata()).format).toBe('jpeg');
  });
});

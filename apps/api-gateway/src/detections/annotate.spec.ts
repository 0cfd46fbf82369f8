import type { Detection } from '@argus/contracts';
import sharp from 'sharp';
import { chooseFormat, classColour, drawingScale, labelText, overlaySvg, renderAnnotated, textColourOn } from './annotate';

const person: Detection = { label: 'person', classId: 0, score: 0.912, box: { x1: 10, y1: 40, x2: 60, y2: 90 } };
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

describe('overlaySvg', () => {
  it('draws a box and a label per detection, labels above their box when there is room', () => {
    const svg = overlaySvg(200, 100, [person]);
    expect(svg).toMatch(/^<svg [^>]*width="200" height="100"/);
    expect(svg.match(/<rect /g)).toHaveLength(2);
    expect(svg).toContain(`stroke="${classColour(0)}"`);
    const label = /<rect x="(\d+)" y="(\d+)" width="(\d+)" height="(\d+)" fill="#/.exec(svg);
    const [x, y, , h] = (label ?? []).slice(1).map(Number) as [number, number, number, number];
    expect(x).toBe(10);
    expect(y + h).toBe(40); // ends where the box begins
    expect(svg).toContain('<path d="M');
  });

  it('puts a label inside its box when the box touches the top, and never past the right edge', () => {
    const svg = overlaySvg(120, 100, [{ ...bus, box: { x1: 90, y1: 0, x2: 120, y2: 30 } }]);
    const label = /<rect x="(\d+)" y="(\d+)" width="(\d+)" height="\d+" fill="#/.exec(svg) ?? [];
    expect(Number(label[2])).toBe(0);
    expect(Number(label[1]) + Number(label[3])).toBeLessThanOrEqual(120);
  });

  it('clamps boxes to the image and draws higher scores last (on top)', () => {
    const svg = overlaySvg(50, 50, [{ ...person, score: 0.99, box: { x1: -10, y1: -5, x2: 80, y2: 70 } }, { ...bus, score: 0.3 }]);
    expect(svg.indexOf(classColour(5))).toBeLessThan(svg.indexOf(classColour(0)));
    expect(svg).not.toMatch(/x="-/);
  });

  it('scales lines and letters with the image', () => {
    expect(drawingScale(640, 480)).toEqual({ stroke: 2, font: 2 });
    expect(drawingScale(4000, 3000).font).toBeGreaterThan(drawingScale(640, 480).font);
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
    const out = await renderAnnotated(stored, [{ ...person, box: { x1: 5, y1: 5, x2: 35, y2: 55 } }], 'png', 1e8);
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

  it('writes JPEG when asked', async () => {
    const png = await sharp({ create: { width: 30, height: 20, channels: 3, background: '#123456' } }).png().toBuffer();
    const out = await renderAnnotated(png, [], 'jpeg', 1e8);
    expect((await sharp(out.data).metadata()).format).toBe('jpeg');
  });
});

import { escapeXml, logTicks, niceScale, renderChart } from './chart';
import type { Mode, Point } from './report';
import { summarize } from './stats';

const point = (mode: Mode, model: string, concurrency: number, imagesPerSec: number): Point => ({
  mode,
  model,
  concurrency,
  windowS: 6,
  warmupS: 1,
  ok: 1,
  failed: 0,
  statuses: {},
  imagesPerSec,
  latency: summarize([10 * concurrency, 20 * concurrency]),
  cpu: {},
});

/** A small well-formedness check: tags nest and close, attributes are quoted, no stray < or &. */
function assertWellFormedXml(xml: string): void {
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  const stack: string[] = [];
  const token = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)/g;
  let consumed = 0;
  for (let m = token.exec(body); m; m = token.exec(body)) {
    if (m.index !== consumed) throw new Error(`unparsable XML at ${consumed}: ${body.slice(consumed, consumed + 40)}`);
    consumed = token.lastIndex;
    const [, closing, name, , selfClosing, text] = m;
    if (text !== undefined) {
      if (/&(?!(amp|lt|gt|quot|apos);)/.test(text)) throw new Error(`bare & in text: ${text}`);
      continue;
    }
    if (closing) {
      if (stack.pop() !== name) throw new Error(`</${name}> closes the wrong element`);
    } else if (!selfClosing) stack.push(name as string);
  }
  if (consumed !== body.length) throw new Error(`unparsable XML at ${consumed}`);
  if (stack.length > 0) throw new Error(`unclosed: ${stack.join(', ')}`);
}

describe(renderChart.name, () => {
  const points: Point[] = [];
  for (const model of ['yolox-nano', 'yolov8n-int8']) {
    for (const c of [1, 4, 16, 64]) {
      points.push(point('bare', model, c, 40), point('direct', model, c, 25 + c / 10), point('stack', model, c, 20 + c / 4));
    }
  }

  it('is well-formed SVG', () => {
    const svg = renderChart(points, 'Argus <bench> & co');
    expect(svg.startsWith('<?xml')).toBe(true);
    expect(svg).toContain('<svg xmlns="http://www.w3.org/2000/svg"');
    expect(() => assertWellFormedXml(svg)).not.toThrow();
    expect(svg).toContain('Argus &lt;bench&gt; &amp; co');
  });

  it('draws a throughput and a latency panel per model with a series per mode', () => {
    const svg = renderChart(points, 't');
    for (const model of ['yolox-nano', 'yolov8n-int8']) {
      expect(svg).toContain(`${model}: images per second`);
      expect(svg).toContain(`${model}: latency (ms, log scale)`);
    }
    for (const mode of ['bare', 'direct', 'stack']) {
      // per model: one throughput series and p50 + p99 latency series
      expect(svg.match(new RegExp(`data-series="${mode}"`, 'g'))).toHaveLength(2 * 3);
    }
    expect(svg.match(/<polyline /g)).toHaveLength(2 * 3 * 3);
    expect(svg).toContain('stack c=64: 36.0 images/s');
    expect(svg.match(/stroke-dasharray/g)).toHaveLength(2 * 3);
  });

  it('still renders with nothing or a single point', () => {
    expect(() => assertWellFormedXml(renderChart([], 'empty'))).not.toThrow();
    expect(renderChart([], 'empty')).toContain('no points measured');
    expect(() => assertWellFormedXml(renderChart([point('stack', 'm', 1, 5)], 'one'))).not.toThrow();
  });

  it('leaves out points without a value (a mode with no successes)', () => {
    const svg = renderChart([point('stack', 'm', 1, 0), point('stack', 'm', 4, 10)], 't');
    expect(() => assertWellFormedXml(svg)).not.toThrow();
    expect(svg).not.toContain('c=1: 0.0 images/s');
  });
});

describe('chart scales', () => {
  it('rounds a linear axis up to 1, 2 or 5 times a power of ten', () => {
    expect(niceScale(47)).toEqual({ max: 50, step: 10 });
    expect(niceScale(0.8)).toEqual({ max: 0.8, step: 0.2 });
    expect(niceScale(0)).toEqual({ max: 1, step: 0.2 });
  });

  it('puts log ticks at 1, 2, 5 times powers of ten', () => {
    expect(logTicks(1, 100)).toEqual([1, 2, 5, 10, 20, 50, 100]);
  });

  it('escapes XML metacharacters', () => {
    expect(escapeXml(`<a href="x">&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;');
  });
});

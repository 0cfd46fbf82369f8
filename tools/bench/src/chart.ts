import { MODES, type Mode, type Point } from './report';

/** Colours per mode (colour-blind safe, Okabe-Ito). */
export const MODE_COLOURS: Readonly<Record<Mode, string>> = Object.freeze({ bare: '#009E73', direct: '#E69F00', stack: '#0072B2' });

const PANEL_W = 440;
const PANEL_H = 260;
const MARGIN = { left: 62, right: 16, top: 34, bottom: 44 };
const GAP = 24;

/** Escapes text for XML content and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** A round upper bound for a linear axis and its step (1, 2 or 5 times a power of ten). */
export function niceScale(max: number, ticks = 5): { max: number; step: number } {
  if (!(max > 0) || !Number.isFinite(max)) return { max: 1, step: 0.2 };
  const raw = max / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power) as number;
  return { max: Math.ceil(max / step) * step, step };
}

/** Tick values of a log axis covering [min, max]: 1, 2, 5 times powers of ten. */
export function logTicks(min: number, max: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= min && v <= max) out.push(v);
    }
  }
  return out;
}

const num = (v: number): string => (Math.abs(v) >= 100 || Number.isInteger(v) ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : String(Number(v.toPrecision(2))));
const xy = (x: number, y: number): string => `${x.toFixed(1)},${y.toFixed(1)}`;

interface Panel {
  title: string;
  yLabel: string;
  log: boolean;
  series: { mode: Mode; dashed: boolean; label: string; values: { c: number; v: number; tip: string }[] }[];
}

function panel(p: Panel, concurrency: number[], ox: number, oy: number): string {
  const w = PANEL_W - MARGIN.left - MARGIN.right;
  const h = PANEL_H - MARGIN.top - MARGIN.bottom;
  const x0 = ox + MARGIN.left;
  const y0 = oy + MARGIN.top;
  const cs = [...concurrency].sort((a, b) => a - b);
  const lmin = Math.log2(cs[0] ?? 1);
  const lmax = Math.log2(cs[cs.length - 1] ?? 1);
  const xOf = (c: number) => (lmax === lmin ? x0 + w / 2 : x0 + ((Math.log2(c) - lmin) / (lmax - lmin)) * w);
  const values = p.series.flatMap((s) => s.values.map((v) => v.v)).filter((v) => Number.isFinite(v) && v > 0);
  let yOf: (v: number) => number;
  let ticks: number[];
  if (p.log) {
    const lo = values.length ? Math.min(...values) : 1;
    const hi = values.length ? Math.max(...values) : 10;
    const min = 10 ** Math.floor(Math.log10(lo));
    const max = 10 ** Math.ceil(Math.log10(hi === min ? hi * 10 : hi));
    yOf = (v) => y0 + h - ((Math.log10(v) - Math.log10(min)) / (Math.log10(max) - Math.log10(min))) * h;
    ticks = logTicks(min, max);
  } else {
    const scale = niceScale(values.length ? Math.max(...values) : 1);
    yOf = (v) => y0 + h - (v / scale.max) * h;
    ticks = Array.from({ length: Math.round(scale.max / scale.step) + 1 }, (_, i) => i * scale.step);
  }
  const parts: string[] = [];
  parts.push(`<g class="panel" data-title="${escapeXml(p.title)}">`);
  parts.push(`<text x="${ox + PANEL_W / 2}" y="${oy + 20}" text-anchor="middle" font-weight="bold">${escapeXml(p.title)}</text>`);
  parts.push(`<rect x="${x0}" y="${y0}" width="${w}" height="${h}" fill="none" stroke="#999"/>`);
  for (const t of ticks) {
    const y = yOf(t);
    parts.push(`<line x1="${x0}" y1="${y.toFixed(1)}" x2="${x0 + w}" y2="${y.toFixed(1)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${x0 - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end" font-size="11">${num(t)}</text>`);
  }
  for (const c of cs) {
    const x = xOf(c);
    parts.push(`<line x1="${x.toFixed(1)}" y1="${y0 + h}" x2="${x.toFixed(1)}" y2="${y0 + h + 4}" stroke="#999"/>`);
    parts.push(`<text x="${x.toFixed(1)}" y="${y0 + h + 17}" text-anchor="middle" font-size="11">${c}</text>`);
  }
  parts.push(`<text x="${x0 + w / 2}" y="${y0 + h + 34}" text-anchor="middle" font-size="12">concurrent clients</text>`);
  parts.push(`<text transform="translate(${ox + 16},${y0 + h / 2}) rotate(-90)" text-anchor="middle" font-size="12">${escapeXml(p.yLabel)}</text>`);
  for (const s of p.series) {
    const pts = s.values.filter((v) => Number.isFinite(v.v) && v.v > 0).sort((a, b) => a.c - b.c);
    if (pts.length === 0) continue;
    const colour = MODE_COLOURS[s.mode];
    parts.push(`<g class="series" data-series="${s.mode}" data-label="${escapeXml(s.label)}">`);
    parts.push(
      `<polyline fill="none" stroke="${colour}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5,4"' : ''} points="${pts.map((v) => xy(xOf(v.c), yOf(v.v))).join(' ')}"/>`,
    );
    for (const v of pts) {
      parts.push(`<circle cx="${xOf(v.c).toFixed(1)}" cy="${yOf(v.v).toFixed(1)}" r="3" fill="${colour}"><title>${escapeXml(v.tip)}</title></circle>`);
    }
    parts.push('</g>');
  }
  parts.push('</g>');
  return parts.join('\n');
}

/**
 * The benchmark's chart as standalone SVG: per model, images per second against concurrent
 * clients (left) and latency p50 (solid) and p99 (dashed) on a log scale (right), one colour per mode.
 */
export function renderChart(points: readonly Point[], title: string): string {
  const models = [...new Set(points.map((p) => p.model))];
  const concurrency = [...new Set(points.map((p) => p.concurrency))];
  const width = 2 * PANEL_W + GAP + 20;
  const legendH = 30;
  const height = 50 + legendH + Math.max(1, models.length) * (PANEL_H + GAP);
  const parts: string[] = [];
  parts.push('<?xml version="1.0" encoding="UTF-8"?>');
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
  );
  parts.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  parts.push(`<text x="${width / 2}" y="26" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(title)}</text>`);
  let lx = 20;
  for (const mode of MODES) {
    parts.push(`<rect x="${lx}" y="44" width="14" height="4" fill="${MODE_COLOURS[mode]}"/><text x="${lx + 20}" y="50">${mode}</text>`);
    lx += 90;
  }
  parts.push(`<text x="${lx + 10}" y="50" fill="#555">latency: solid p50, dashed p99</text>`);
  if (models.length === 0) parts.push(`<text x="${width / 2}" y="${height / 2}" text-anchor="middle">no points measured</text>`);
  models.forEach((model, row) => {
    const oy = 50 + legendH + row * (PANEL_H + GAP);
    const of = (mode: Mode) => points.filter((p) => p.model === model && p.mode === mode);
    const throughput: Panel = {
      title: `${model}: images per second`,
      yLabel: 'images/s',
      log: false,
      series: MODES.map((mode) => ({
        mode,
        dashed: false,
        label: `${mode} images/s`,
        values: of(mode).map((p) => ({ c: p.concurrency, v: p.imagesPerSec, tip: `${mode} c=${p.concurrency}: ${p.imagesPerSec.toFixed(1)} images/s` })),
      })),
    };
    const latency: Panel = {
      title: `${model}: latency (ms, log scale)`,
      yLabel: 'ms',
      log: true,
      series: MODES.flatMap((mode) =>
        (['p50', 'p99'] as const).map((q) => ({
          mode,
          dashed: q === 'p99',
          label: `${mode} ${q}`,
          values: of(mode).map((p) => ({ c: p.concurrency, v: p.latency[q], tip: `${mode} c=${p.concurrency}: ${q} ${p.latency[q].toFixed(1)} ms` })),
        })),
      ),
    };
    parts.push(panel(throughput, concurrency, 10, oy));
    parts.push(panel(latency, concurrency, 10 + PANEL_W + GAP, oy));
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

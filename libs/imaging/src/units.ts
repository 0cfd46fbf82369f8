/** "20 MiB", "1.5 MiB", "812 KiB", "12 bytes": sizes in messages people read. */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${trim(n / (1024 * 1024))} MiB`;
  if (n >= 1024) return `${trim(n / 1024)} KiB`;
  return `${n} bytes`;
}

/** "280 Mpx", "0.3 Mpx": pixel counts in messages people read. */
export function formatMegapixels(pixels: number): string {
  return `${trim(pixels / 1e6)} Mpx`;
}

/** Two sizes for "X; the limit is Y": exact counts when rounding would make them look equal. */
export function formatOverLimit(value: number, limit: number, format: (n: number) => string, unit: string): [string, string] {
  const [a, b] = [format(value), format(limit)];
  return a === b ? [`${value} ${unit}`, `${limit} ${unit}`] : [a, b];
}

function trim(v: number): string {
  const s = v.toFixed(1);
  return s.endsWith('.0') ? s.slice(0, -2) : s;
}

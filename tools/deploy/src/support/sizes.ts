/**
 * Bytes of a memory size as Redis (`768mb`, `1gb`, `512k`), Docker (`1g`, `512m`) or Kubernetes
 * (`1Gi`, `768Mi`, `1G`) write it. Redis and Docker units are powers of 1024 except Redis's
 * bare `k`/`m`/`g`, which are powers of 1000 (redis.conf: "1k => 1000 bytes, 1kb => 1024 bytes").
 */
export function memoryBytes(text: string, dialect: 'redis' | 'docker' | 'kubernetes'): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(text.trim());
  if (!match?.[1]) throw new Error(`"${text}" is not a memory size`);
  const value = Number(match[1]);
  // Kubernetes units are case-sensitive (m is milli, M is mega); the others are not.
  const unit = dialect === 'kubernetes' ? (match[2] ?? '') : (match[2] ?? '').toLowerCase();
  const binary: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3 };
  const kubernetes: Record<string, number> = { '': 1, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, k: 1e3, M: 1e6, G: 1e9 };
  const redis: Record<string, number> = { '': 1, b: 1, k: 1e3, kb: 1024, m: 1e6, mb: 1024 ** 2, g: 1e9, gb: 1024 ** 3 };
  const table = dialect === 'kubernetes' ? kubernetes : dialect === 'redis' ? redis : binary;
  const factor = table[unit];
  if (factor === undefined) throw new Error(`"${text}": unknown ${dialect} unit "${match[2]}"`);
  return value * factor;
}

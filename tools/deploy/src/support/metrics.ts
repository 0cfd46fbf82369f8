import { Metrics } from '@argus/observability';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoPath } from './repo';

/** Source files of the apps and libs (tests excluded): where metrics are registered. */
function sourceFiles(): string[] {
  const out: string[] = [];
  for (const top of ['apps', 'libs']) {
    for (const entry of readdirSync(repoPath(top), { recursive: true, withFileTypes: true })) {
      if (entry.isFile() && entry.name.endsWith('.ts') && !/\.(spec|test)\.ts$/.test(entry.name)) out.push(join(entry.parentPath, entry.name));
    }
  }
  return out;
}

/**
 * Every series name the Argus apps can export: prom-client's default metrics and the shared ones
 * (an app's {@link Metrics} registry, read live), and each `name: 'argus_…'` registered anywhere
 * in apps/ and libs/ (histograms and summaries with their _bucket, _sum and _count series).
 */
export function exportedSeries(): Set<string> {
  const names = new Set<string>(['up']);
  const add = (name: string, type: string) => {
    names.add(name);
    if (type === 'histogram' || type === 'summary') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
  };
  for (const metric of new Metrics('probe').registry.getMetricsAsArray()) add(metric.name, String(metric.type));
  for (const file of sourceFiles()) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/new (Histogram|Summary|Gauge|Counter)\(\{\s*name: '(argus_[a-z0-9_]+)'/g)) {
      add(match[2] ?? '', (match[1] ?? '').toLowerCase());
    }
  }
  return names;
}

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

/**
 * The series names a PromQL expression selects: string literals, label matchers, label lists of
 * by/without/on/ignoring/group_*, range selectors and Grafana's `$variables` are removed, then
 * every identifier not called as a function and not a keyword is a series name.
 */
export function seriesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\$\{?[A-Za-z_]\w*\}?/g, ' ')
    .replace(/(^|[^A-Za-z0-9_:])\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g, '$1 ');
  const names: string[] = [];
  for (const match of stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const word = match[0];
    const after = stripped.slice((match.index ?? 0) + word.length).trimStart();
    if (after.startsWith('(') || KEYWORDS.has(word.toLowerCase())) continue;
    names.push(word);
  }
  return [...new Set(names)];
}

/** Problems with the shape of a PromQL expression: unbalanced brackets, nothing selected. */
export function promqlShapeErrors(expr: string): string[] {
  const problems: string[] = [];
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  const stack: string[] = [];
  for (const char of expr.replace(/"(?:[^"\\]|\\.)*"/g, '""')) {
    if ('([{'.includes(char)) stack.push(char);
    else if (char in pairs && stack.pop() !== pairs[char]) problems.push(`unbalanced "${char}"`);
  }
  if (stack.length > 0) problems.push(`unclosed "${stack.join('')}"`);
  if (seriesIn(expr).length === 0) problems.push('selects no series');
  return problems;
}

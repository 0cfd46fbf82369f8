/** One `NAME=value` line of an env file; `commented` when it is shown as `# NAME=value`. */
export interface EnvEntry {
  name: string;
  value: string;
  commented: boolean;
  line: number;
  /** The `# ==== title` section the line is in ('' before the first). */
  section: string;
}

const ENTRY = /^(#\s?)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/;
const SECTION = /^#\s*====\s*(.+?)\s*$/;

/**
 * Reads an env file the way docker compose and `kubectl create secret --from-env-file` do for its
 * active lines, and also collects documented defaults written as `# NAME=value`.
 */
export function parseEnvFile(text: string): EnvEntry[] {
  const entries: EnvEntry[] = [];
  let section = '';
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trimEnd();
    const heading = SECTION.exec(line);
    if (heading?.[1]) {
      section = heading[1];
      return;
    }
    const match = ENTRY.exec(line);
    if (!match?.[2]) return;
    entries.push({
      name: match[2],
      value: unquote(match[3] ?? ''),
      commented: match[1] !== undefined,
      line: index + 1,
      section,
    });
  });
  return entries;
}

/** Active `NAME=value` lines as a map (the last one wins, as with docker compose). */
export function activeEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of parseEnvFile(text)) if (!entry.commented) env[entry.name] = entry.value;
  return env;
}

function unquote(value: string): string {
  const trimmed = value.trim();
  if (trimmed.length >= 2 && (trimmed.startsWith('"') || trimmed.startsWith("'")) && trimmed.endsWith(trimmed[0] ?? '')) {
    return trimmed.slice(1, -1);
  }
  return trimmed;
}

/** One instruction of a Dockerfile, continuation lines joined. */
export interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

/** A build stage: its FROM and the instructions up to the next FROM. */
export interface Stage {
  name: string | undefined;
  from: string;
  line: number;
  instructions: Instruction[];
}

/** Parsed Dockerfile: the global ARGs before the first FROM, and the stages in order. */
export interface ParsedDockerfile {
  globalArgs: Map<string, string | undefined>;
  stages: Stage[];
}

/**
 * A small Dockerfile reader for the checks (dockerfile-utils lints the syntax; this answers "what
 * does stage X do"): comments and parser directives dropped, `\` continuations joined.
 */
export function parseDockerfile(text: string): ParsedDockerfile {
  const instructions: Instruction[] = [];
  let pending: { text: string; line: number } | undefined;
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (!pending && (line === '' || line.startsWith('#'))) return;
    if (pending && line.startsWith('#')) return;
    const continued = line.endsWith('\\');
    const body = continued ? line.slice(0, -1).trimEnd() : line;
    pending = pending ? { text: `${pending.text} ${body}`, line: pending.line } : { text: body, line: index + 1 };
    if (!continued) {
      const match = /^(\S+)\s*([\s\S]*)$/.exec(pending.text);
      if (match?.[1]) instructions.push({ keyword: match[1].toUpperCase(), args: (match[2] ?? '').trim(), line: pending.line });
      pending = undefined;
    }
  });

  const globalArgs = new Map<string, string | undefined>();
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const parts = instruction.args.split(/\s+/).filter((p) => !p.startsWith('--'));
      const asIndex = parts.findIndex((p) => p.toUpperCase() === 'AS');
      stages.push({
        from: parts[0] ?? '',
        name: asIndex >= 0 ? parts[asIndex + 1] : undefined,
        line: instruction.line,
        instructions: [],
      });
      continue;
    }
    const stage = stages[stages.length - 1];
    if (stage) {
      stage.instructions.push(instruction);
    } else if (instruction.keyword === 'ARG') {
      const [name, value] = instruction.args.split('=', 2);
      if (name) globalArgs.set(name.trim(), value?.trim());
    }
  }
  return { globalArgs, stages };
}

/** A stage by name; throws when absent. */
export function stage(parsed: ParsedDockerfile, name: string): Stage {
  const found = parsed.stages.find((s) => s.name === name);
  if (!found) throw new Error(`no stage named ${name} (have: ${parsed.stages.map((s) => s.name ?? '?').join(', ')})`);
  return found;
}

/** Instructions of a stage with this keyword. */
export function instructionsOf(s: Stage, keyword: string): Instruction[] {
  return s.instructions.filter((i) => i.keyword === keyword);
}

/** The `--flag=value` options and the remaining words of a COPY/ADD instruction. */
export function copyParts(instruction: Instruction): { flags: Map<string, string>; sources: string[]; destination: string } {
  const words = instruction.args.split(/\s+/).filter((w) => w.length > 0);
  const flags = new Map<string, string>();
  while (words[0]?.startsWith('--')) {
    const [flag, value = ''] = (words.shift() ?? '').slice(2).split('=', 2);
    if (flag) flags.set(flag, value);
  }
  const destination = words.pop() ?? '';
  return { flags, sources: words, destination };
}

/** The stages a stage depends on: its FROM (when a stage) and every COPY --from. */
export function stageDependencies(parsed: ParsedDockerfile, s: Stage): string[] {
  const names = new Set(parsed.stages.map((x) => x.name).filter((n): n is string => n !== undefined));
  const deps = new Set<string>();
  if (names.has(s.from)) deps.add(s.from);
  for (const copy of instructionsOf(s, 'COPY')) {
    const from = copyParts(copy).flags.get('from');
    if (from && names.has(from)) deps.add(from);
  }
  return [...deps];
}

/** Every stage a target needs, transitively (the target included). */
export function stageClosure(parsed: ParsedDockerfile, target: string): Set<string> {
  const seen = new Set<string>();
  const visit = (name: string): void => {
    if (seen.has(name)) return;
    seen.add(name);
    for (const dep of stageDependencies(parsed, stage(parsed, name))) visit(dep);
  };
  visit(target);
  return seen;
}

/** Converts .dockerignore patterns into a matcher (the last matching pattern wins; `!` re-includes). */
export function dockerignoreMatcher(text: string): (path: string) => boolean {
  const rules = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith('#'))
    .map((pattern) => {
      const negate = pattern.startsWith('!');
      const body = (negate ? pattern.slice(1) : pattern).replace(/^\/+/, '').replace(/\/+$/, '');
      const source = body
        .split('/')
        .map((part) => (part === '**' ? '.*' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')))
        .join('/')
        .replace(/\.\*\//g, '(?:.*/)?');
      // A pattern matches the path itself or anything under it (a folder excludes its content).
      return { negate, regex: new RegExp(`^${source}(?:/.*)?$`) };
    });
  return (path: string) => {
    let ignored = false;
    for (const rule of rules) if (rule.regex.test(path)) ignored = !rule.negate;
    return ignored;
  };
}

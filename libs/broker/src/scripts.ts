import type { ChainableCommander, Redis } from 'ioredis';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Argus's Lua scripts, one `<name>-<number of keys>.lua` file each (as bullmq lays out its own),
 * with a header saying what the script guarantees and what each KEYS and ARGV entry is; a line
 * `--- @include "<file>"` pastes a shared fragment. docs/adr/0009 explains how they fit together.
 */
export const SCRIPT_NAMES = ['admit', 'endWork', 'releaseImage', 'takeToken', 'cancel', 'erase'] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];

interface Script {
  keys: number;
  lua: string;
}

/** Where the .lua files are: beside this file in the sources, copied beside main.js in a built app. */
function scriptsDir(): string {
  const candidates = [join(__dirname, 'lua'), join(__dirname, 'scripts')];
  const found = candidates.find((dir) => existsSync(dir) && readdirSync(dir).some((f) => f.endsWith('.lua')));
  if (!found) throw new Error(`Argus's Lua scripts are missing: looked in ${candidates.join(', ')}`);
  return found;
}

const INCLUDE = /^---\s*@include\s+"([^"]+)"\s*$/gm;

/** Reads one script file, pasting its includes (each once, relative to the scripts folder). */
function readScript(dir: string, file: string, seen = new Set<string>()): string {
  if (seen.has(file)) return '';
  seen.add(file);
  const text = readFileSync(join(dir, file), 'utf8');
  return text.replace(INCLUDE, (_line, included: string) => readScript(dir, included.endsWith('.lua') ? included : `${included}.lua`, seen));
}

let loaded: Record<ScriptName, Script> | undefined;

/** Loads every script once per process: the file names give each one's name and key count. */
export function loadScripts(dir = scriptsDir()): Record<ScriptName, Script> {
  if (loaded) return loaded;
  const scripts: Partial<Record<ScriptName, Script>> = {};
  for (const file of readdirSync(dir)) {
    const match = /^([A-Za-z]+)-(\d+)\.lua$/.exec(file);
    if (!match?.[1] || !(SCRIPT_NAMES as readonly string[]).includes(match[1])) continue;
    scripts[match[1] as ScriptName] = { keys: Number(match[2]), lua: readScript(dir, file) };
  }
  const missing = SCRIPT_NAMES.filter((name) => !scripts[name]);
  if (missing.length > 0) throw new Error(`Lua scripts missing from ${dir}: ${missing.join(', ')}`);
  loaded = scripts as Record<ScriptName, Script>;
  return loaded;
}

type Arg = string | Buffer | number;

/** Registers Argus's scripts on a connection (idempotent). */
export function defineScripts(redis: Redis): void {
  for (const [name, script] of Object.entries(loadScripts())) {
    if (!(name in redis)) redis.defineCommand(name, { numberOfKeys: script.keys, lua: script.lua });
  }
}

/**
 * A pipeline of Argus's scripts on one connection: queue calls with `add`, then `exec` them in one
 * round trip. The scripts are defined on the connection before the pipeline is made (ioredis
 * copies the defined commands onto a pipeline when it is created, not later).
 */
export function scriptPipeline(redis: Redis): { add(name: ScriptName, keys: string[], args: Arg[]): void; exec(): ReturnType<ChainableCommander['exec']> } {
  defineScripts(redis);
  const pipeline = redis.pipeline();
  return {
    add(name, keys, args) {
      scriptCommand(pipeline, name, keys)(...keys, ...args);
    },
    exec: () => pipeline.exec(),
  };
}

/** Calls one of Argus's scripts (EVALSHA, falling back to EVAL once per connection). */
export function runScript(redis: Redis, name: ScriptName, keys: string[], args: Arg[]): Promise<unknown> {
  defineScripts(redis);
  return scriptCommand(redis, name, keys)(...keys, ...args) as Promise<unknown>;
}

/** A defined script's command on a connection or pipeline, bound to it, once the number of keys is checked. */
function scriptCommand(target: Redis | ChainableCommander, name: ScriptName, keys: readonly string[]): (...a: Arg[]) => unknown {
  const script = loadScripts()[name];
  if (keys.length !== script.keys) throw new Error(`script ${name} takes ${script.keys} keys, got ${keys.length}`);
  const command = (target as unknown as Partial<Record<ScriptName, (...a: Arg[]) => unknown>>)[name];
  if (!command) throw new Error(`script ${name} is not defined on this connection or pipeline`);
  return command.bind(target);
}

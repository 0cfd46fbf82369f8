import { type ParseArgsConfig, parseArgs } from 'node:util';

/** Where a CLI writes a line. */
export type Out = (line: string) => void;

/** The --help flag every CLI of the results app takes. */
export const HELP = { help: { type: 'boolean', short: 'h', default: false } } as const;

/**
 * The shared front of the results app's CLIs: parses `rest` against `options` (which include
 * {@link HELP}) and answers usage errors and help itself. Returns the parsed arguments, or the exit
 * code when it answered.
 */
export function parseCli<O extends NonNullable<ParseArgsConfig['options']>>(command: string | undefined, rest: string[], options: O, usage: string, err: Out) {
  let parsed;
  try {
    parsed = parseArgs({ args: rest, allowPositionals: true, options });
  } catch (error) {
    err(`${error instanceof Error ? error.message : String(error)}\n\n${usage}`);
    return 2;
  }
  if (!command || (parsed.values as Record<string, unknown>)['help'] || command === 'help') {
    err(usage);
    return command ? 0 : 2;
  }
  return parsed;
}

import { ArgusKeys, createRedis, listDeadLetters, retryDeadLetters } from '@argus/broker';
import type { ArgusConfig } from '@argus/config';
import { HELP, type Out, parseCli } from '../cli';

export const DEAD_LETTERS_USAGE = `Results messages that apps/results set aside as never persistable (REDIS_URL, QUEUE_PREFIX):

  dead-letters list [--json]         The oldest 100, with why each was set aside.
  dead-letters retry <id>... | --all Puts them back on the results stream to be persisted again
                                     (after fixing what failed them; persisting twice is harmless).

Run it where apps/results runs: node dist/apps/results/main.js dead-letters ... (in the image: node main.js dead-letters ...).`;

/** The dead-letters CLI: returns the exit code (0 done, 1 failed, 2 usage). Output: `out` for data, `err` for messages. */
export async function runDeadLettersCli(argv: string[], config: ArgusConfig, io: { out: Out; err: Out }): Promise<number> {
  const [command, ...rest] = argv;
  const parsed = parseCli(command, rest, { all: { type: 'boolean', default: false }, json: { type: 'boolean', default: false }, ...HELP }, DEAD_LETTERS_USAGE, io.err);
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  if (command === 'retry' && !values.all && positionals.length === 0) {
    io.err(`dead-letters retry: name the ids, or --all\n\n${DEAD_LETTERS_USAGE}`);
    return 2;
  }
  if (command !== 'list' && command !== 'retry') {
    io.err(`Unknown command "${command}".\n\n${DEAD_LETTERS_USAGE}`);
    return 2;
  }
  const redis = createRedis(config.redis.url, { name: 'argus:results:cli', failFast: true });
  const keys = new ArgusKeys(config.redis.prefix);
  try {
    if (command === 'list') {
      const letters = await listDeadLetters(redis, keys);
      if (values.json) io.out(JSON.stringify(letters));
      else if (letters.length === 0) io.err('no dead letters');
      else for (const l of letters) io.out(`${l.id}  ${l.fields['kind'] ?? '?'}  ${l.reason}`);
    } else {
      const n = await retryDeadLetters(redis, keys, values.all ? 'all' : positionals);
      io.err(`${n} message(s) back on the results stream`);
      if (!values.all && n < positionals.length) {
        io.err(`${positionals.length - n} id(s) not found`);
        return 1;
      }
    }
    return 0;
  } catch (error) {
    io.err(`dead-letters ${command}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    redis.disconnect();
  }
}

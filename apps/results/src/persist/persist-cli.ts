import { createRedis, openPersistJobs } from '@argus/broker';
import type { ArgusConfig } from '@argus/config';
import { HELP, type Out, parseCli } from '../cli';

export const PERSIST_USAGE = `Persist jobs (queue "results") that failed for good, after RESULTS_ATTEMPTS deliveries (REDIS_URL, QUEUE_PREFIX):

  persist failed [--json]            The newest 100, with why each failed and the requests it carries.
  persist retry <id>... | --all      Tries them again (after fixing what failed them; rows are
                                     keyed by request id, so persisting twice adds nothing).

Bull Board (/admin/queues, queue "results") shows and retries the same jobs.
Run it where apps/results runs: node dist/apps/results/main.js persist ... (in the image: node main.js persist ...).`;

/** The persist CLI: returns the exit code (0 done, 1 failed, 2 usage). Output: `out` for data, `err` for messages. */
export async function runPersistCli(argv: string[], config: ArgusConfig, io: { out: Out; err: Out }): Promise<number> {
  const [command, ...rest] = argv;
  const parsed = parseCli(command, rest, { all: { type: 'boolean', default: false }, json: { type: 'boolean', default: false }, ...HELP }, PERSIST_USAGE, io.err);
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  if (command !== 'failed' && command !== 'retry') {
    io.err(`Unknown command "${command}".\n\n${PERSIST_USAGE}`);
    return 2;
  }
  if (command === 'retry' && !values.all && positionals.length === 0) {
    io.err(`persist retry: name the job ids, or --all\n\n${PERSIST_USAGE}`);
    return 2;
  }
  const redis = createRedis(config.redis.url, { name: 'argus:results:cli', failFast: true });
  const { jobs, close } = openPersistJobs(redis, config.redis.prefix);
  try {
    if (command === 'failed') {
      const failed = await jobs.failed();
      if (values.json) io.out(JSON.stringify(failed));
      else if (failed.length === 0) io.err('no failed persist jobs');
      else for (const f of failed) io.out(`${f.id}  ${f.failedAt ?? '?'}  ${f.attempts} attempts  ${f.requests.length} request(s)  ${f.reason}`);
    } else {
      const n = await jobs.retry(values.all ? 'all' : positionals);
      io.err(`${n} persist job(s) retried`);
      if (!values.all && n < positionals.length) {
        io.err(`${positionals.length - n} id(s) not found among the failed jobs`);
        return 1;
      }
    }
    return 0;
  } catch (error) {
    io.err(`persist ${command}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    await close();
    redis.disconnect();
  }
}

import { type ArgusConfig, hashApiKey } from '@argus/config';
import { API_KEY_SCOPES, type ApiKeyScope, isApiKeyScope, type Priority, PrioritySchema } from '@argus/contracts';
import { HELP, type Out, parseCli } from '../cli';
import { createDataSource, ensureDatabase, migrate } from '../database/database';
import { ApiKeysService, type ApiKeySummary } from './api-keys.service';

export const KEYS_USAGE = `Manage API keys stored in Postgres (DATABASE_URL, DATABASE_SCHEMA):

  keys create --name <name> [--priorities high,normal,low] [--rate <per second> --burst <n>] [--scopes admin] [--json]
      Creates a key and prints it once (stdout); only its sha256 is stored. --scopes admin makes
      a key that may read every client's detections (operators, audits); other keys read their own.
      Its webhook secret (whsec_..., which signs the webhooks of its callbackUrl requests) is shown
      once too (stderr; with --json, in the JSON as webhookSecret).
  keys webhook-secret <id>        Gives a key a new webhook secret and prints it (stdout); the old one stops signing.
  keys list [--all] [--json]      Active keys (--all: revoked ones too). Never shows key text.
  keys revoke <id>                Revokes a key; gateways stop accepting it within API_KEY_CACHE_SECONDS.
  keys hash                       Reads a key on stdin, prints sha256:<hex> for API_KEYS (no database).

Run it where apps/results runs: node dist/apps/results/main.js keys ... (in the image: node main.js keys ...).`;

/** The keys CLI: returns the exit code (0 done, 1 failed, 2 usage). Output: `out` for data, `err` for messages. */
export async function runKeysCli(argv: string[], config: ArgusConfig, io: { out: Out; err: Out; stdin?: () => Promise<string> }): Promise<number> {
  const [command, ...rest] = argv;
  const parsed = parseCli(
    command,
    rest,
    {
      name: { type: 'string' },
      priorities: { type: 'string' },
      rate: { type: 'string' },
      burst: { type: 'string' },
      scopes: { type: 'string' },
      all: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      ...HELP,
    },
    KEYS_USAGE,
    io.err,
  );
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  if (command === 'hash') {
    const key = (await (io.stdin ?? readStdin)()).trim();
    if (key.length === 0) {
      io.err('keys hash: give the key on stdin, e.g. printf %s "$KEY" | ... keys hash');
      return 2;
    }
    io.out(`sha256:${hashApiKey(key)}`);
    return 0;
  }
  if (!command || !['create', 'list', 'revoke', 'webhook-secret'].includes(command)) {
    io.err(`Unknown command "${command}".\n\n${KEYS_USAGE}`);
    return 2;
  }

  await ensureDatabase(config);
  const dataSource = await createDataSource(config).initialize();
  try {
    await migrate(dataSource);
    const keys = new ApiKeysService(dataSource, config);
    switch (command) {
      case 'create': {
        if (!values.name) {
          io.err('keys create: --name is required');
          return 2;
        }
        const priorities = values.priorities ? parsePriorities(values.priorities) : undefined;
        if (priorities === null) {
          io.err('keys create: --priorities takes a comma-separated list of high, normal, low');
          return 2;
        }
        if ((values.rate === undefined) !== (values.burst === undefined)) {
          io.err('keys create: give --rate and --burst together (or neither, for the gateway default)');
          return 2;
        }
        const rateLimit = values.rate !== undefined ? { perSecond: Number(values.rate), burst: Number(values.burst) } : null;
        const scopes = values.scopes ? parseScopes(values.scopes) : [];
        if (scopes === null) {
          io.err(`keys create: --scopes takes a comma-separated list of ${API_KEY_SCOPES.join(', ')}`);
          return 2;
        }
        const { key, webhookSecret, summary } = await keys.create({ name: values.name, ...(priorities ? { priorities } : {}), rateLimit, scopes });
        if (values.json) {
          io.out(JSON.stringify({ key, webhookSecret, ...summary }));
        } else {
          io.out(key);
          io.err(`Created key ${summary.id} "${summary.name}" (client id key:${summary.id}; priorities ${summary.priorities.join(', ')}; rate ${rateText(summary)}; scopes ${summary.scopes.join(', ') || 'none'}).`);
          io.err('This is the only time the key is shown: only its sha256 is stored.');
          io.err(`Its webhook secret (verify the webhooks of its callbackUrl requests with it; shown only now): ${webhookSecret}`);
        }
        return 0;
      }
      case 'list': {
        const list = await keys.list(values.all);
        if (values.json) {
          io.out(JSON.stringify(list));
        } else if (list.length === 0) {
          io.err(values.all ? 'No keys.' : 'No active keys (--all shows revoked ones).');
        } else {
          for (const k of list) {
            io.out(
              [k.id, JSON.stringify(k.name), k.priorities.join(','), rateText(k), k.scopes.length > 0 ? `scopes ${k.scopes.join(',')}` : 'own data', `created ${k.createdAt}`, `last used ${k.lastUsedAt ?? 'never'}`, k.revokedAt ? `REVOKED ${k.revokedAt}` : 'active'].join('  '),
            );
          }
        }
        return 0;
      }
      case 'webhook-secret': {
        const id = positionals[0];
        if (!id) {
          io.err('keys webhook-secret: give the key id (see keys list)');
          return 2;
        }
        const secret = await keys.rotateWebhookSecret(id);
        if (!secret) {
          io.err(`No active key with id ${id}.`);
          return 1;
        }
        io.out(secret);
        io.err(`Key ${id} has a new webhook secret; webhooks are signed with it from now on (shown only now).`);
        return 0;
      }
      case 'revoke': {
        const id = positionals[0];
        if (!id) {
          io.err('keys revoke: give the key id (see keys list)');
          return 2;
        }
        if (await keys.revoke(id)) {
          io.err(`Revoked ${id}. Gateways refuse it within API_KEY_CACHE_SECONDS (${config.auth.cacheSeconds} s here).`);
          return 0;
        }
        io.err(`No active key with id ${id}.`);
        return 1;
      }
      default:
        return 2;
    }
  } catch (error) {
    io.err(`keys ${command}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    await dataSource.destroy();
  }
}

function parsePriorities(text: string): Priority[] | null {
  const names = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const parsed = names.map((n) => PrioritySchema.safeParse(n));
  if (names.length === 0 || parsed.some((p) => !p.success)) return null;
  return parsed.map((p) => p.data as Priority);
}

function parseScopes(text: string): ApiKeyScope[] | null {
  const names = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (names.length === 0 || !names.every(isApiKeyScope)) return null;
  return names.filter(isApiKeyScope);
}

function rateText(k: Pick<ApiKeySummary, 'rateLimit'>): string {
  return k.rateLimit ? `${k.rateLimit.perSecond}/s burst ${k.rateLimit.burst}` : 'default';
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

import { containerEnvironment, loadCompose, referencedVariables, servicesOf } from './support/compose';
import { parseEnvFile } from './support/dotenv';
import { acceptsValue, appEnvVars, deploymentCriticalVars, deploymentReason, isCredential } from './support/env-schema';
import { asRecord, readRepoFile } from './support/repo';

const COMPOSE_ONLY_SECTION = 'docker compose only';

describe('environment variables in the deployment files', () => {
  const schemaVars = appEnvVars();
  const example = parseEnvFile(readRepoFile('.env.example'));
  const appEntries = example.filter((e) => !e.section.startsWith(COMPOSE_ONLY_SECTION));
  const composeEntries = example.filter((e) => e.section.startsWith(COMPOSE_ONLY_SECTION));

  it('reads the variable list from libs/config at test time', () => {
    expect(schemaVars).toEqual(expect.arrayContaining(['REDIS_URL', 'DATABASE_URL', 'MODEL_REPOSITORY', 'QUEUE_PREFIX']));
  });

  it('lists every variable the apps read in .env.example', () => {
    const documented = new Set(appEntries.map((e) => e.name));
    const missing = schemaVars.filter((name) => !documented.has(name));
    expect(missing).toEqual([]);
  });

  it('lists no app variable in .env.example that the apps do not read (typos, removed settings)', () => {
    const known = new Set(schemaVars);
    expect(appEntries.map((e) => e.name).filter((name) => !known.has(name))).toEqual([]);
  });

  it('documents each app variable once, with a value its schema accepts', () => {
    const names = appEntries.map((e) => e.name);
    expect(names.filter((name, i) => names.indexOf(name) !== i)).toEqual([]);
    const rejected = appEntries.filter((e) => !acceptsValue(e.name, e.value)).map((e) => `${e.name}=${e.value} (line ${e.line})`);
    expect(rejected).toEqual([]);
  });

  it('keeps .env.example free of real credentials: credential lines are commented examples', () => {
    const active = example.filter((e) => !e.commented && isCredential(e.name)).map((e) => e.name);
    expect(active).toEqual([]);
  });

  it('uses every docker compose variable of .env.example in a compose file', () => {
    const used = new Set([
      ...referencedVariables(readRepoFile('docker-compose.yml')),
      ...referencedVariables(readRepoFile('docker-compose.gpu.yml')),
    ]);
    // COMPOSE_* variables are read by the docker compose CLI itself.
    const unused = composeEntries.map((e) => e.name).filter((name) => !name.startsWith('COMPOSE_') && !used.has(name));
    expect(unused).toEqual([]);
  });

  it('names every variable that has no safe default in docker compose', () => {
    // Declared (with a container value, or passed through from .env); whether the apps then start
    // without any .env is compose.spec.ts's concern.
    const services = servicesOf(loadCompose('docker-compose.yml'));
    const apps = ['api-gateway', 'inference', 'results'];
    const declared = new Set(apps.flatMap((app) => Object.keys(asRecord(services[app]?.environment) ?? {})));
    const missing = [...deploymentCriticalVars()]
      .filter(([name]) => !declared.has(name))
      .map(([name, reason]) => `${name}: ${reason}`);
    expect(missing).toEqual([]);
  });

  it('gives the container-specific ones (addresses, paths, mode) a value even without a .env', () => {
    const services = servicesOf(loadCompose('docker-compose.yml'));
    const apps = ['api-gateway', 'inference', 'results'];
    const valued = new Set(apps.flatMap((app) => Object.keys(containerEnvironment(services[app] ?? {}, {}))));
    const missing = [...deploymentCriticalVars()]
      .filter(([name]) => !isCredential(name) || /_URL$/.test(name))
      .filter(([name]) => !valued.has(name))
      .map(([name, reason]) => `${name}: ${reason}`);
    expect(missing).toEqual([]);
  });

  it('classifies the variables that need a deployment value', () => {
    expect(deploymentReason('REDIS_URL')).toMatch(/credentials/);
    expect(deploymentReason('RESULTS_RPC_HOST')).toMatch(/this machine/);
    expect(deploymentReason('MODEL_REPOSITORY')).toMatch(/relative/);
    expect(deploymentReason('WORKER_CONCURRENCY')).toBeNull();
    expect(isCredential('ADMIN_PASSWORD')).toBe(true);
    expect(isCredential('API_KEYS')).toBe(true);
    expect(isCredential('MAX_IMAGE_BYTES')).toBe(false);
  });
});

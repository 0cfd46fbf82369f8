// `npm start`: builds the three apps and runs them locally with readable, prefixed logs.
// Configuration comes from the environment and ./.env (see .env.example); defaults expect Redis
// and Postgres on 127.0.0.1 and models in ./models (`npm run models:download`).
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';

if (existsSync('.env')) process.loadEnvFile('.env');
const env = { ...process.env };
const repository = resolve(env.MODEL_REPOSITORY ?? 'models');
const hasModels = existsSync(repository) && readdirSync(repository).some((d) => existsSync(resolve(repository, d, 'model.onnx')));
if (!hasModels) {
  console.error(`No models in ${repository}.\nRun \`npm run models:download\`, or point MODEL_REPOSITORY at a folder of <name>/model.onnx.`);
  process.exit(1);
}
if (!env.API_KEYS) {
  env.API_KEYS = `dev-${randomBytes(12).toString('hex')}`;
  console.log(`API_KEYS is not set: this session accepts the key ${env.API_KEYS}\n  e.g. curl -H 'x-api-key: ${env.API_KEYS}' ...\n`);
}

if (!process.argv.includes('--no-build')) {
  const build = spawnSync('npx', ['nx', 'run-many', '-t', 'build', '-p', 'api-gateway', 'inference', 'results', '--outputStyle=static'], { stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}

const apps = [
  { name: 'results', colour: 35, port: env.RESULTS_PORT ?? '3002' },
  { name: 'inference', colour: 36, port: env.INFERENCE_PORT ?? '3001' },
  { name: 'api-gateway', colour: 32, port: env.GATEWAY_PORT ?? '3000' },
];
const width = Math.max(...apps.map((a) => a.name.length));
const children = [];
let stopping = false;

function run(app) {
  const child = spawn(process.execPath, [resolve('dist/apps', app.name, 'main.js')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const prefix = process.stdout.isTTY ? `\x1b[${app.colour}m${app.name.padEnd(width)} |\x1b[0m ` : `${app.name.padEnd(width)} | `;
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => process.stdout.write(`${prefix}${line}\n`));
  }
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`${app.name} exited (${code ?? signal}); stopping the others`);
      stop(1);
    }
  });
  children.push(child);
  return child;
}

async function ready(app, timeoutMs = 120000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`http://127.0.0.1:${app.port}/health/ready`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${app.name} was not ready after ${timeoutMs / 1000} s`);
}

function stop(code = 0) {
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  setTimeout(() => process.exit(code), 10000).unref();
  Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null))).then(() => process.exit(code));
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

for (const app of apps) {
  run(app);
  await ready(app).catch((error) => {
    console.error(error.message);
    stop(1);
  });
}
console.log(`\nArgus is up: http://127.0.0.1:${apps[2].port} (Ctrl-C stops it)\n`);

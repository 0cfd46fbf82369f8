// Type-checks one project: every tsconfig.<role>.json in the current folder (app or lib, spec).
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const configs = readdirSync('.').filter((f) => /^tsconfig\.[a-z]+\.json$/.test(f));
for (const config of configs) {
  execFileSync(process.execPath, [tsc, '--noEmit', '-p', config], { stdio: 'inherit' });
}

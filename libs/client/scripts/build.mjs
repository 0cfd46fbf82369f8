// Builds the publishable @argus/client into dist/libs/client (or --out-dir): an ES module build
// and a CommonJS build of the same sources, each with its .d.ts, then package.json and README.
// Two plain tsc runs: the lib has no dependencies to bundle, so no bundler is needed.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const lib = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const root = resolve(lib, '../..');
const { values } = parseArgs({ options: { 'out-dir': { type: 'string' } } });
const out = resolve(values['out-dir'] ?? join(root, 'dist/libs/client'));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

/** Relative and bare module specifiers in emitted JavaScript and declarations. */
const SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)(['"])([^'"]+)\2/gm;

function compile(module, folder) {
  const args = ['-p', join(lib, 'tsconfig.lib.json'), '--rootDir', join(lib, 'src'), '--outDir', join(out, folder)];
  // noEmitOnError: a broken build writes nothing (an import from another lib would otherwise emit
  // that lib's files beside its sources).
  args.push('--module', module, '--declaration', '--sourceMap', 'false', '--incremental', 'false', '--noEmitOnError');
  execFileSync(process.execPath, [tsc, ...args], { stdio: 'inherit', cwd: root });
  // Tells Node how to load the folder's .js files, whatever the package's own "type".
  writeFileSync(join(out, folder, 'package.json'), `${JSON.stringify({ type: module === 'commonjs' ? 'commonjs' : 'module' })}\n`);
}

function files(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return files(path);
    return /\.(js|d\.ts)$/.test(entry.name) ? [path] : [];
  });
}

// Node's ES module loader wants full file names; the sources use extensionless imports, like the
// rest of the workspace, so the ES build gets `.js` added to its relative imports.
function addJsExtensions(dir) {
  for (const file of files(dir)) {
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.replace(SPECIFIER, (match, before, quote, path) => (path.startsWith('.') && !/\.[cm]?js$/.test(path) ? `${before}${quote}${path}.js${quote}` : match)));
  }
}

// The package must stand alone: only its own files and Node's built-ins, no workspace aliases.
function checkImports(dir) {
  const foreign = [];
  for (const file of files(dir)) {
    for (const [, , , path] of readFileSync(file, 'utf8').matchAll(SPECIFIER)) {
      if (!path.startsWith('.') && !path.startsWith('node:')) foreign.push(`${relative(dir, file)}: ${path}`);
    }
  }
  if (foreign.length > 0) throw new Error(`The built package imports modules it does not ship:\n${foreign.join('\n')}`);
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
compile('commonjs', 'cjs');
compile('es2022', 'esm');
addJsExtensions(join(out, 'esm'));
checkImports(out);
copyFileSync(join(lib, 'package.json'), join(out, 'package.json'));
copyFileSync(join(lib, 'README.md'), join(out, 'README.md'));
console.log(`@argus/client built in ${relative(root, out) || out}`);

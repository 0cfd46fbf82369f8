import { validate } from 'dockerfile-utils';
import { existsSync } from 'node:fs';
import {
  copyParts,
  dockerignoreMatcher,
  instructionsOf,
  parseDockerfile,
  stage,
  stageClosure,
} from './support/dockerfile';
import { readRepoFile, repoPath } from './support/repo';

const DOCKERFILE = 'docker/Dockerfile';
// What ships: the stages someone runs (compose and k8s use these targets).
const SHIPPED = ['runtime', 'inference-cuda', 'model-init'] as const;
// LSP severity of dockerfile-utils' diagnostics.
const ERROR = 1;

describe(DOCKERFILE, () => {
  const text = readRepoFile(DOCKERFILE);
  const parsed = parseDockerfile(text);

  it('passes the dockerfile-utils linter without errors or warnings', () => {
    const problems = validate(text).map((d) => `line ${d.range.start.line + 1}: ${d.message}`);
    expect(problems).toEqual([]);
  });

  it('fails the linter on a broken Dockerfile (the linter is live)', () => {
    const diagnostics = validate('FROM node:20-slim\nHEALTHCHECK --interval=soon CMD true\nCOPY\n');
    expect(diagnostics.filter((d) => d.severity === ERROR).length).toBeGreaterThan(0);
  });

  it('is multi-stage, with the slim runtime as the default (last) target', () => {
    expect(parsed.stages.map((s) => s.name)).toEqual([
      'build',
      'deps',
      'cuda-deps',
      'model-init',
      'node-binary',
      'inference-cuda',
      'runtime',
    ]);
  });

  it('starts from pinned images: Node 20 slim for the apps, an NVIDIA CUDA runtime for CUDA', () => {
    const node = parsed.globalArgs.get('NODE_IMAGE') ?? '';
    const cuda = parsed.globalArgs.get('CUDA_IMAGE') ?? '';
    expect(node).toMatch(/^node:20[.\d]*-(bookworm|bullseye|trixie)-slim$/);
    expect(cuda).toMatch(/^nvidia\/cuda:\d+\.\d+\.\d+-(cudnn-)?runtime-ubuntu\d+\.\d+$/);
    for (const s of parsed.stages) {
      expect(s.from).not.toMatch(/:latest$/);
      expect(['${NODE_IMAGE}', '${CUDA_IMAGE}', ...parsed.stages.map((x) => x.name)]).toContain(s.from);
    }
  });

  it.each(SHIPPED)('%s runs as an unprivileged user', (name) => {
    const users = instructionsOf(stage(parsed, name), 'USER').map((u) => u.args);
    const last = users[users.length - 1];
    expect(last).toBeDefined();
    expect(last).not.toMatch(/^(root|0)(:|$)/);
  });

  it.each(['runtime', 'inference-cuda'])('%s has a HEALTHCHECK on /health/live and an exec-form CMD', (name) => {
    const s = stage(parsed, name);
    const healthchecks = instructionsOf(s, 'HEALTHCHECK');
    expect(healthchecks).toHaveLength(1);
    expect(healthchecks[0]?.args).toMatch(/CMD \["node", "\/usr\/local\/lib\/argus\/healthcheck\.mjs"\]/);
    expect(readRepoFile('docker/healthcheck.mjs')).toMatch(/\/health\/live/);
    expect(instructionsOf(s, 'CMD').map((c) => c.args)).toEqual(['["node", "main.js"]']);
  });

  it('never copies a model into an image', () => {
    for (const s of parsed.stages) {
      for (const copy of [...instructionsOf(s, 'COPY'), ...instructionsOf(s, 'ADD')]) {
        for (const source of copyParts(copy).sources) {
          expect({ stage: s.name, source, model: /\.onnx$|(^|\/)models?(\/|$)/.test(source) }).toEqual({
            stage: s.name,
            source,
            model: false,
          });
        }
      }
    }
  });

  it('ships production dependencies only: runtime images never copy from the build stage', () => {
    for (const name of ['runtime', 'inference-cuda']) {
      const froms = instructionsOf(stage(parsed, name), 'COPY').map((c) => copyParts(c).flags.get('from'));
      expect(froms).not.toContain('build');
    }
    const install = instructionsOf(stage(parsed, 'deps'), 'RUN').map((r) => r.args).join('\n');
    // From the pruned lock file (versions pinned), without dev dependencies or install scripts.
    expect(install).toMatch(/test -f package-lock\.json/);
    expect(install).toMatch(/npm (ci|install) --omit=dev --ignore-scripts/);
    // The deps stage installs from the generated package.json and pruned lock file of one app.
    expect(instructionsOf(stage(parsed, 'deps'), 'COPY').map((c) => c.args)).toEqual([
      '--from=build /workspace/dist/apps/${APP}/ ./',
    ]);
  });

  it('keeps only the linux-x64 onnxruntime binaries', () => {
    const install = instructionsOf(stage(parsed, 'deps'), 'RUN').map((r) => r.args).join('\n');
    expect(install).toMatch(/linux\/x64/);
    expect(install).toMatch(/rm -rf "\$ort"/);
  });

  it('installs the CUDA execution provider at build time and checks its libraries against the base', () => {
    const cudaDeps = instructionsOf(stage(parsed, 'cuda-deps'), 'RUN').map((r) => r.args).join('\n');
    expect(cudaDeps).toMatch(/ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules\/onnxruntime-node\/script\/install\.js/);
    expect(cudaDeps).toMatch(/libonnxruntime_providers_cuda\.so/);
    const cuda = stage(parsed, 'inference-cuda');
    expect(cuda.from).toBe('${CUDA_IMAGE}');
    expect(instructionsOf(cuda, 'RUN').map((r) => r.args).join('\n')).toMatch(/ldd .*libonnxruntime_providers_cuda\.so/);
    const env = instructionsOf(cuda, 'ENV').map((e) => e.args).join(' ');
    expect(env).toMatch(/EXECUTION_PROVIDERS=cuda,cpu/);
    expect(env).toMatch(/ALLOW_CPU_FALLBACK=false/);
  });

  it('keeps the build stage out of model-init (it ships the downloader, not the workspace)', () => {
    expect([...stageClosure(parsed, 'model-init')]).toEqual(['model-init']);
    expect(stageClosure(parsed, 'runtime')).toEqual(new Set(['runtime', 'deps', 'build']));
    expect(stageClosure(parsed, 'inference-cuda')).toEqual(new Set(['inference-cuda', 'node-binary', 'cuda-deps', 'deps', 'build']));
  });

  describe('build context', () => {
    const ignored = dockerignoreMatcher(readRepoFile('.dockerignore'));

    it('excludes models, dependencies, build output, git and local settings', () => {
      for (const path of [
        'models/yolox-nano/model.onnx',
        'apps/inference/fixtures/tiny.onnx',
        'node_modules/sharp/package.json',
        'libs/vision/node_modules/x',
        'dist/apps/inference/main.js',
        '.git/HEAD',
        '.env',
        '.env.local',
      ]) {
        expect({ path, ignored: ignored(path) }).toEqual({ path, ignored: true });
      }
    });

    it('keeps what the builds read: sources, lock file, and every file COPY names', () => {
      const copied = parsed.stages.flatMap((s) =>
        instructionsOf(s, 'COPY')
          .map(copyParts)
          .filter((c) => !c.flags.has('from'))
          .flatMap((c) => c.sources)
          .filter((source) => source !== '.'),
      );
      expect(copied).toEqual(
        expect.arrayContaining(['package.json', 'package-lock.json', 'docker/healthcheck.mjs', 'docker/model-init.sh']),
      );
      for (const path of [...copied, 'apps/api-gateway/src/main.ts', 'libs/config/src/env.schema.ts', 'nx.json', '.env.example']) {
        expect({ path, ignored: ignored(path) }).toEqual({ path, ignored: false });
      }
    });

    it('has every file that a COPY names in the repository', () => {
      const missing = parsed.stages
        .flatMap((s) => instructionsOf(s, 'COPY').map(copyParts).filter((c) => !c.flags.has('from')))
        .flatMap((c) => c.sources)
        .filter((source) => source !== '.' && !existsSync(repoPath(source)));
      expect(missing).toEqual([]);
    });
  });
});

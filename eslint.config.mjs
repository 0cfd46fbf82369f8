import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

// Module boundaries (see docs/adr/0001-workspace-layout.md):
// - apps depend on libs, never on each other;
// - contracts imports nothing but zod;
// - only the inference scope (apps/inference, libs/vision, tools/cli) may import onnxruntime-node;
// - only apps/results may import typeorm and pg (libs/testing may use pg to inspect rows in tests).
const ONNX = ['onnxruntime-node', 'onnxruntime-common'];
const DATABASE = ['typeorm', 'pg', 'pg-*'];

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  ...nx.configs['flat/javascript'],
  { ignores: ['**/dist', '**/out-tsc', '**/node_modules', 'bench/results', 'test-artifacts', '**/public/vendor'] },
  {
    files: ['**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: true,
          banTransitiveDependencies: true,
          allow: ['^.*/eslint(\\.base)?\\.config\\.[cm]?[jt]s$'],
          depConstraints: [
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:lib'] },
            { sourceTag: 'type:tool', onlyDependOnLibsWithTags: ['type:lib'] },
            { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:lib'] },
            { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib'] },
            {
              sourceTag: 'kind:contracts',
              onlyDependOnLibsWithTags: [],
              allowedExternalImports: ['zod'],
            },
            {
              sourceTag: 'scope:shared',
              onlyDependOnLibsWithTags: ['scope:shared', 'scope:testing'],
              bannedExternalImports: [...ONNX, ...DATABASE],
            },
            {
              sourceTag: 'scope:testing',
              onlyDependOnLibsWithTags: ['scope:shared'],
              bannedExternalImports: [...ONNX, 'typeorm'],
            },
            {
              sourceTag: 'scope:inference',
              onlyDependOnLibsWithTags: ['scope:shared', 'scope:inference', 'scope:testing'],
              bannedExternalImports: DATABASE,
            },
            {
              sourceTag: 'scope:api-gateway',
              onlyDependOnLibsWithTags: ['scope:shared', 'scope:testing'],
              bannedExternalImports: [...ONNX, ...DATABASE],
            },
            {
              sourceTag: 'scope:results',
              onlyDependOnLibsWithTags: ['scope:shared', 'scope:testing'],
              bannedExternalImports: ONNX,
            },
            {
              sourceTag: 'scope:e2e',
              onlyDependOnLibsWithTags: ['scope:shared', 'scope:testing'],
              bannedExternalImports: [...ONNX, 'typeorm'],
            },
            {
              sourceTag: 'scope:deploy',
              onlyDependOnLibsWithTags: ['scope:shared', 'scope:testing'],
              bannedExternalImports: [...ONNX, ...DATABASE],
            },
          ],
        },
      ],
    },
  },
  {
    // Typed rules: a dropped promise or a switch that forgets a case is a bug we want at lint time.
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true, requireDefaultForNonUnion: false },
      ],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': 'off',
    },
  },
  {
    // Config is read once, validated, typed: process.env belongs to libs/config (and to the
    // launcher and test harness that set it for child processes).
    files: ['apps/**/*.ts', 'libs/**/*.ts'],
    ignores: ['libs/config/**', 'libs/testing/**', '**/*.spec.ts', '**/*.test.ts'],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read configuration through @argus/config.' }],
    },
  },
  {
    files: ['**/*.js', '**/*.cjs', '**/*.mjs', '**/*.cts'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['**/*.js', '**/*.cjs', '**/*.cts'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
];

const nxPreset = require('@nx/jest/preset').default;

// One preset for every project: ts-jest transpiles each file alone (isolatedModules); type errors
// are the typecheck target's job. Two tiers per project: `test` runs the specs that need no
// service (unit specs, and the golden tests of the real models on the real photos); `int` runs the
// `*.int.spec.ts` files, which talk to the real Redis and Postgres (ARGUS_TEST_TIER=int). Real
// services and models are slow, so the default timeout is generous; benchmarks never live here.
const integration = process.env.ARGUS_TEST_TIER === 'int';

module.exports = {
  ...nxPreset,
  testMatch: integration ? ['**/?(*.)int.spec.ts'] : ['**/?(*.)+(spec|test).[jt]s?(x)'],
  testPathIgnorePatterns: integration ? ['/node_modules/'] : ['/node_modules/', '\\.int\\.spec\\.ts$'],
  testEnvironment: 'node',
  transform: {
    '^.+\\.[tj]s$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json', diagnostics: false }],
  },
  moduleFileExtensions: ['ts', 'js', 'json'],
  testTimeout: 30000,
};

const nxPreset = require('@nx/jest/preset').default;

// One preset for every project: ts-jest transpiles each file alone (isolatedModules); type errors
// are the typecheck target's job. Integration tests talk to real Redis, Postgres and the models,
// so the default timeout is generous; benchmarks never live here.
module.exports = {
  ...nxPreset,
  testEnvironment: 'node',
  transform: {
    '^.+\\.[tj]s$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json', diagnostics: false }],
  },
  moduleFileExtensions: ['ts', 'js', 'json'],
  testTimeout: 30000,
};

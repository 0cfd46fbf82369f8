module.exports = {
  displayName: 'argus-e2e',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/apps/argus-e2e',
  // Each file starts a whole Argus (three processes and the models) on a two-core machine:
  // one file at a time keeps them from starving each other.
  maxWorkers: 1,
  testTimeout: 120000,
};

module.exports = {
  displayName: 'argus-e2e',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/apps/argus-e2e',
  // Each file starts a whole Argus (three processes and the models) on a two-core machine:
  // one file at a time keeps them from starving each other.
  maxWorkers: 1,
  testTimeout: 120000,
  // A failing test can leave a connection or a child's pipe open; Jest would then report the
  // failure and wait forever instead of exiting (a CI run that never ends). Tests close what they
  // open, in finally blocks; this is the net under them.
  forceExit: true,
};

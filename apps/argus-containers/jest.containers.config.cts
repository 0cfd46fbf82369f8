// Not named jest.config.*: Nx would infer a `test` target from that, and `npm test` would run this
// tier beside the others on a two-core machine. It runs alone, after them (run.sh, target
// `container`).
module.exports = {
  displayName: 'argus-containers',
  preset: '../../jest.preset.js',
  testMatch: ['<rootDir>/src/**/*.container.spec.ts'],
  maxWorkers: 1,
  // Building the images and starting the stack happen in beforeAll; a test waits for restarts.
  testTimeout: 240000,
  forceExit: true,
};

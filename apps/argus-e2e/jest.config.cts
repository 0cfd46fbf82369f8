module.exports = {
  displayName: 'argus-e2e',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/apps/argus-e2e',
};

module.exports = {
  displayName: 'vision',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/vision',
};

module.exports = {
  displayName: 'broker',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/broker',
};

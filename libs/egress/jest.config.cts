module.exports = {
  displayName: 'egress',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/egress',
};

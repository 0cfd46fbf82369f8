module.exports = {
  displayName: 'imaging',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/imaging',
};

module.exports = {
  displayName: 'vision',
  preset: '../../jest.preset.js',
  // Runs the real models: see jest-environment.cjs for why the default node environment fails.
  testEnvironment: '<rootDir>/jest-environment.cjs',
  moduleNameMapper: { '^onnxruntime-node$': '<rootDir>/jest-onnxruntime.cjs' },
  coverageDirectory: '../../coverage/libs/vision',
};

const { NxAppWebpackPlugin } = require('@nx/webpack/app-plugin');
const { join } = require('path');

// Bundles the app and its libs into one main.js; node_modules stay external (generatePackageJson
// writes the list the Docker image installs). Type checking is the typecheck target's job.
module.exports = {
  output: {
    path: join(__dirname, '../../dist/apps/inference'),
    clean: true,
    ...(process.env.NODE_ENV !== 'production' && {
      devtoolModuleFilenameTemplate: '[absolute-resource-path]',
    }),
  },
  plugins: [
    new NxAppWebpackPlugin({
      target: 'node',
      compiler: 'tsc',
      main: './src/main.ts',
      // The model thread's program (libs/vision ThreadRunner starts it by path, beside main.js).
      additionalEntryPoints: [{ entryName: 'model-thread', entryPath: 'libs/vision/src/model-thread.ts' }],
      tsConfig: './tsconfig.app.json',
      // The broker's Lua scripts are read at run time from beside main.js.
      assets: [{ input: '../../libs/broker/src/lua', glob: '*.lua', output: 'lua' }],
      optimization: false,
      outputHashing: 'none',
      generatePackageJson: true,
      sourceMap: true,
      skipTypeChecking: true,
    }),
  ],
};

const { TestEnvironment } = require('jest-environment-node');

// Two problems with running onnxruntime-node under Jest, both from Jest's per-file sandboxes:
// - its native part may be initialised once per process; a second test file that loads it in a
//   fresh module registry aborts Node ("Assertion failed ... napi_add_env_cleanup_hook").
//   So the module is loaded once, here in the host realm, and test code gets that instance
//   through jest-onnxruntime.cjs (moduleNameMapper).
// - onnxruntime-common checks tensor data with instanceof Float32Array
//   (microsoft/onnxruntime#16622): the sandbox must use the host's typed-array constructors.
// Any project whose tests run a model needs this environment and that mapping.
const TYPED_ARRAYS = [
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
];

class OnnxRuntimeEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of TYPED_ARRAYS) this.global[name] = globalThis[name];
    this.global.__argusOnnxRuntime = require('onnxruntime-node');
  }
}

module.exports = OnnxRuntimeEnvironment;

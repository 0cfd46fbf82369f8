// The host realm's onnxruntime-node, loaded once per Jest worker by jest-environment.cjs.
module.exports = globalThis.__argusOnnxRuntime;

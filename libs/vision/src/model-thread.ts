import { parentPort } from 'node:worker_threads';
import { messageOf } from './errors';
import { type MovedOutput, SessionCore, type ThreadReply, type ThreadRequest } from './model-core';

// The model thread's program (ThreadRunner starts it by path): one ONNX Runtime session, driven
// by messages. A file of its own so that it is type-checked and linted with the lib; the apps'
// webpack builds emit it beside main.js as model-thread.js.

const port = parentPort;
if (!port) throw new Error('model-thread runs as a worker thread (ThreadRunner starts it)');
let core: SessionCore | undefined;

function loaded(): SessionCore {
  if (!core) throw new Error('no model is loaded on this thread');
  return core;
}

async function answer(msg: ThreadRequest): Promise<{ reply: ThreadReply; transfer: ArrayBuffer[] }> {
  switch (msg.kind) {
    case 'load': {
      core = await SessionCore.create(msg.path, msg.options);
      return { reply: { id: msg.id, ok: true, inputs: core.inputs, outputs: core.outputs }, transfer: [] };
    }
    case 'run': {
      const outputs = await loaded().run(msg.plan, new Float32Array(msg.buffer, msg.byteOffset, msg.length), msg.dims);
      const moved: MovedOutput[] = outputs.map((o) => ({
        name: o.name,
        type: o.type,
        dims: o.dims,
        buffer: o.data.buffer,
        byteOffset: o.data.byteOffset,
        length: o.data.length,
      }));
      // Two outputs may share one buffer: each is listed once.
      const transfer = [...new Set(outputs.map((o) => o.data.buffer as ArrayBuffer))];
      return { reply: { id: msg.id, ok: true, moved }, transfer };
    }
    case 'share':
      loaded().share(msg.buffer, msg.inputFloats, msg.outputFloats);
      return { reply: { id: msg.id, ok: true }, transfer: [] };
    case 'runSlots':
      return { reply: { id: msg.id, ok: true, dims: await loaded().runSlots(msg.plan, msg.indices, msg.dims) }, transfer: [] };
    case 'release':
      await core?.release();
      core = undefined;
      return { reply: { id: msg.id, ok: true }, transfer: [] };
  }
}

port.on('message', (msg: ThreadRequest) => {
  answer(msg).then(
    ({ reply, transfer }) => port.postMessage(reply, transfer),
    (error: unknown) => port.postMessage({ id: msg.id, ok: false, error: messageOf(error) } satisfies ThreadReply),
  );
});

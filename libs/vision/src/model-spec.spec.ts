import { ModelError } from './errors';
import { COCO_LABELS } from './labels/coco';
import { type TensorIo, describeModel, gridAnchors } from './model-spec';

const YOLOX_IO = {
  inputs: [{ name: 'images', shape: ['batch', 3, 416, 416] }],
  outputs: [{ name: 'output', shape: ['batch', 3549, 85] }],
};
const YOLOV8_IO = {
  inputs: [{ name: 'images', shape: [1, 3, 640, 640] }],
  outputs: [{ name: 'output0', shape: [1, 84, 8400] }],
};

function refused(io: { inputs: TensorIo[]; outputs: TensorIo[] }, overrides = {}): ModelError {
  try {
    describeModel(io, overrides);
  } catch (e) {
    if (e instanceof ModelError) return e;
    throw e;
  }
  throw new Error('expected describeModel to refuse the layout');
}

describe(describeModel.name, () => {
  it('recognises YOLOX-Nano: [batch, 3549, 85], dynamic batch', () => {
    expect(describeModel(YOLOX_IO)).toEqual({
      family: 'yolox',
      inputName: 'images',
      outputName: 'output',
      inputWidth: 416,
      inputHeight: 416,
      dynamicBatch: true,
      numClasses: 80,
      labels: [...COCO_LABELS],
      numAnchors: 3549,
    });
  });

  it('recognises Ultralytics YOLOv8n / YOLO11n: [1, 84, 8400], static batch', () => {
    expect(describeModel(YOLOV8_IO)).toMatchObject({
      family: 'yolov8',
      outputName: 'output0',
      inputWidth: 640,
      inputHeight: 640,
      dynamicBatch: false,
      numClasses: 80,
      numAnchors: 8400,
    });
  });

  it('reads the class count from the head and names unknown classes', () => {
    const spec = describeModel({ inputs: YOLOX_IO.inputs, outputs: [{ name: 'output', shape: [1, 3549, 25] }] });
    expect(spec.numClasses).toBe(20);
    expect(spec.labels.slice(0, 2)).toEqual(['class_0', 'class_1']);
    const v8 = describeModel({ inputs: YOLOV8_IO.inputs, outputs: [{ name: 'output0', shape: [1, 6, 8400] }] }, { labels: ['cat', 'dog'] });
    expect(v8).toMatchObject({ family: 'yolov8', numClasses: 2, labels: ['cat', 'dog'] });
  });

  it('handles non-square inputs', () => {
    const spec = describeModel({
      inputs: [{ name: 'images', shape: [1, 3, 384, 640] }],
      outputs: [{ name: 'output0', shape: [1, 84, gridAnchors(640, 384)] }],
    });
    expect(spec).toMatchObject({ family: 'yolov8', inputWidth: 640, inputHeight: 384, numAnchors: 5040 });
  });

  it('uses model.json for symbolic sizes, names and the family', () => {
    const io = {
      inputs: [
        { name: 'scale', shape: [1, 3, 2, 2] },
        { name: 'pixels', shape: ['n', 3, 'h', 'w'] },
      ],
      outputs: [
        { name: 'features', shape: ['n', 'a', 85] },
        { name: 'dets', shape: ['n', 'a', 85] },
      ],
    };
    const spec = describeModel(io, { inputName: 'pixels', outputName: 'dets', family: 'yolox', inputWidth: 320, inputHeight: 320 });
    expect(spec).toMatchObject({ family: 'yolox', inputName: 'pixels', outputName: 'dets', inputWidth: 320, numAnchors: 2100 });
  });

  describe('refuses', () => {
    it('an anchor-based YOLOv5 head, saying so', () => {
      const e = refused({ inputs: [{ name: 'images', shape: [1, 3, 640, 640] }], outputs: [{ name: 'output0', shape: [1, 25200, 85] }] });
      expect(e.code).toBe('invalid_model');
      expect(e.message).toMatch(/\[1, 25200, 85\].*YOLOv5.*expected YOLOX \[batch, 8400, 5\+classes\]/);
    });

    it('a head that fits neither family', () => {
      expect(refused({ inputs: YOLOX_IO.inputs, outputs: [{ name: 'boxes', shape: [1, 100, 4] }] }).message).toMatch(/"boxes" is \[1, 100, 4\]/);
    });

    it('an input that is not NCHW with 3 channels', () => {
      expect(refused({ inputs: [{ name: 'images', shape: [1, 416, 416, 3] }], outputs: YOLOX_IO.outputs }).message).toMatch(/3 colour channels/);
    });

    it('a symbolic input size without model.json', () => {
      expect(refused({ inputs: [{ name: 'images', shape: [1, 3, 'h', 'w'] }], outputs: YOLOX_IO.outputs }).message).toMatch(/inputWidth/);
    });

    it('a fixed batch other than 1', () => {
      expect(refused({ inputs: [{ name: 'images', shape: [4, 3, 416, 416] }], outputs: YOLOX_IO.outputs }).message).toMatch(/fixed batch of 4/);
    });

    it('sizes that are not multiples of 32', () => {
      expect(refused({ inputs: [{ name: 'images', shape: [1, 3, 400, 400] }], outputs: YOLOX_IO.outputs }).message).toMatch(/multiples of 32/);
    });

    it('ambiguous or missing inputs and outputs', () => {
      const twoInputs = { inputs: [...YOLOX_IO.inputs, { name: 'other', shape: [1, 3, 416, 416] }], outputs: YOLOX_IO.outputs };
      expect(refused(twoInputs).message).toMatch(/set inputName/);
      expect(refused({ inputs: YOLOX_IO.inputs, outputs: [] }).message).toMatch(/no output/);
      expect(refused(YOLOX_IO, { outputName: 'nope' }).message).toMatch(/names output "nope"/);
    });

    it('labels that do not match the class count', () => {
      expect(refused(YOLOX_IO, { labels: ['a', 'b'] }).message).toMatch(/2 labels but the model predicts 80 classes/);
    });

    it('a forced family that does not fit the head', () => {
      expect(refused(YOLOX_IO, { family: 'yolov8' }).message).toMatch(/not a yolov8 head/);
    });
  });
});

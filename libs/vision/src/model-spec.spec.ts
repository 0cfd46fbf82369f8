import { ModelError } from './errors';
import { COCO_LABELS } from './labels/coco';
import { gridAnchors } from './families/yolo-grid';
import { type TensorIo, describeModel, settleOutputs } from './model-spec';

const YOLOX_IO = {
  inputs: [{ name: 'images', shape: ['batch', 3, 416, 416] }],
  outputs: [{ name: 'output', shape: ['batch', 3549, 85] }],
};
const YOLOV8_IO = {
  inputs: [{ name: 'images', shape: [1, 3, 640, 640] }],
  outputs: [{ name: 'output0', shape: [1, 84, 8400] }],
};

// DEIMv2-Atto as exported: batch squeezed out of the outputs, query count symbolic.
const DETR_IO = {
  inputs: [
    { name: 'images', shape: ['batch', 3, 320, 320], type: 'float32' },
    { name: 'orig_target_sizes', shape: ['batch', 2], type: 'int64' },
  ],
  outputs: [
    { name: 'labels', shape: ['Squeezelabels_dim_0'], type: 'int64' },
    { name: 'boxes', shape: ['Squeezeboxes_dim_0', 'Squeezeboxes_dim_1'], type: 'float32' },
    { name: 'scores', shape: ['Squeezeboxes_dim_0'], type: 'float32' },
  ],
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
      inputWidth: 416,
      inputHeight: 416,
      dynamicBatch: true,
      numClasses: 80,
      labels: [...COCO_LABELS],
      numAnchors: 3549,
      outputs: [{ name: 'output', size: 3549 * 85 }],
      extraInputs: [],
      preprocessing: {
        placement: 'top-left',
        kernel: 'lanczos3',
        shrinkOnLoad: true,
        padValue: 114,
        channels: 'bgr',
        divisor: 1,
        mean: [0, 0, 0],
        std: [1, 1, 1],
      },
    });
  });

  it('recognises Ultralytics YOLOv8n / YOLO11n: [1, 84, 8400], static batch', () => {
    expect(describeModel(YOLOV8_IO)).toMatchObject({
      family: 'yolov8',
      outputs: [{ name: 'output0', size: 84 * 8400 }],
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
    expect(spec).toMatchObject({ family: 'yolox', inputName: 'pixels', outputs: [{ name: 'dets', size: 2100 * 85 }], inputWidth: 320, numAnchors: 2100 });
  });

  describe('DETR family', () => {
    it('recognises the RT-DETR / D-FINE / DEIM export (DEIMv2 as exported: squeezed outputs, symbolic queries)', () => {
      expect(describeModel(DETR_IO)).toEqual({
        family: 'detr',
        inputName: 'images',
        inputWidth: 320,
        inputHeight: 320,
        dynamicBatch: true,
        numClasses: 80,
        labels: [...COCO_LABELS],
        numAnchors: 0,
        outputs: [
          { name: 'labels', size: 0 },
          { name: 'boxes', size: 0 },
          { name: 'scores', size: 0 },
        ],
        extraInputs: [{ name: 'orig_target_sizes', type: 'int64', values: [320, 320] }],
        preprocessing: {
          placement: 'centre-floored',
          kernel: 'linear',
          shrinkOnLoad: false,
          padValue: 0,
          channels: 'rgb',
          divisor: 255,
          mean: [0, 0, 0],
          std: [1, 1, 1],
        },
      });
    });

    it('reads a fixed query count with the batch dimension kept, and a non-square input', () => {
      const spec = describeModel({
        inputs: [
          { name: 'orig_target_sizes', shape: [1, 2] },
          { name: 'images', shape: [1, 3, 480, 640] },
        ],
        outputs: [
          { name: 'scores', shape: [1, 300] },
          { name: 'labels', shape: [1, 300] },
          { name: 'boxes', shape: [1, 300, 4] },
        ],
      });
      expect(spec).toMatchObject({
        family: 'detr',
        dynamicBatch: false,
        numAnchors: 300,
        outputs: [
          { name: 'labels', size: 300 },
          { name: 'boxes', size: 1200 },
          { name: 'scores', size: 300 },
        ],
        extraInputs: [{ name: 'orig_target_sizes', values: [640, 480] }],
      });
    });

    it('takes labels, mean and std from model.json (the larger DEIM sizes are trained with ImageNet statistics)', () => {
      const mean = [0.485, 0.456, 0.406] as [number, number, number];
      const std = [0.229, 0.224, 0.225] as [number, number, number];
      const spec = describeModel(DETR_IO, { family: 'detr', labels: ['pill', 'capsule'], mean, std });
      expect(spec).toMatchObject({ numClasses: 2, labels: ['pill', 'capsule'], preprocessing: { mean, std, padValue: 0 } });
    });

    it('learns a symbolic query count from a first run, and refuses outputs that disagree', () => {
      const spec = describeModel(DETR_IO);
      expect(settleOutputs(spec, [300, 1200, 300])).toMatchObject({ numAnchors: 300, outputs: [{ size: 300 }, { size: 1200 }, { size: 300 }] });
      expect(() => settleOutputs(spec, [300, 1000, 300])).toThrow(/labels, boxes and scores for the same queries; this one gives 300, 1000 and 300/);
      expect(() => settleOutputs(describeModel(YOLOX_IO), [100])).toThrow(/holds 100 values per image; its shape says 301665/);
    });

    it.each([
      ['no orig_target_sizes input', { ...DETR_IO, inputs: DETR_IO.inputs.slice(0, 1) }, /no input "orig_target_sizes"/],
      ['a missing output', { ...DETR_IO, outputs: DETR_IO.outputs.slice(0, 2) }, /no output "scores"/],
      ['boxes that are not 4 values', { ...DETR_IO, outputs: [DETR_IO.outputs[0], { name: 'boxes', shape: [300, 5] }, DETR_IO.outputs[2]] }, /not \[batch,\] queries/],
      ['an input outside the convention', { ...DETR_IO, inputs: [...DETR_IO.inputs, { name: 'mask', shape: [1, 320, 320] }] }, /"mask" \[1, 320, 320\] are not part of the convention/],
    ])('refuses %s, naming it', (_what, io, message) => {
      const e = refused(io as { inputs: TensorIo[]; outputs: TensorIo[] }, { family: 'detr' });
      expect(e.message).toMatch(message);
      expect(e.message).toMatch(/not a detr head.*expected a DETR-family export/);
    });
  });

  describe('refuses', () => {
    it('a layout no family knows, naming what each family expected', () => {
      // A Hugging Face DETR export: logits and normalised boxes, not the RT-DETR convention.
      const e = refused({
        inputs: [{ name: 'pixel_values', shape: ['batch', 3, 800, 800] }],
        outputs: [
          { name: 'logits', shape: ['batch', 100, 92] },
          { name: 'pred_boxes', shape: ['batch', 100, 4] },
        ],
      });
      expect(e.code).toBe('invalid_model');
      expect(e.message).toContain('several outputs with 3 dimensions');
      expect(e.message).toContain('no input "orig_target_sizes" among "pixel_values" [batch, 3, 800, 800]');
      expect(e.message).toContain('expected YOLOX [batch, 13125, 5+classes] for a 800x800 input');
      expect(e.message).toContain('or Ultralytics YOLOv8/YOLO11 [batch, 4+classes, 13125]');
      expect(e.message).toContain('or a DETR-family export (RT-DETR, D-FINE, DEIM) with inputs "pixel_values" [batch, 3, 800, 800] and "orig_target_sizes" [batch, 2]');
    });

    it('a forced detr family on a YOLO head', () => {
      expect(refused(YOLOX_IO, { family: 'detr' }).message).toMatch(/sets family "detr", but this is not a detr head: no input "orig_target_sizes"/);
    });

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

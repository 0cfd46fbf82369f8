import { parseDetectArgs } from './detect-args';
import { resolveClasses, roundDetection } from './detect-output';

describe(parseDetectArgs.name, () => {
  it('reads flags and images, in any order', () => {
    expect(parseDetectArgs(['a.jpg', '--model', 'yolov8n-int8', '--conf=0.5', '--iou', '0.6', 'b.png', '--agnostic', '--max-det', '10'])).toEqual({
      kind: 'detect',
      images: ['a.jpg', 'b.png'],
      model: 'yolov8n-int8',
      confidence: 0.5,
      iou: 0.6,
      maxDetections: 10,
      agnostic: true,
    });
    expect(parseDetectArgs(['x.jpg', '--classes', 'person, 2'])).toMatchObject({ classes: ['person', '2'], agnostic: false });
  });

  it('takes a model file outside the repository', () => {
    expect(parseDetectArgs(['--model-file', '../m/model.onnx', 'x.jpg'])).toEqual({ kind: 'detect', images: ['x.jpg'], modelFile: '../m/model.onnx', agnostic: false });
  });

  it('leaves unset options to configuration', () => {
    expect(parseDetectArgs(['x.jpg'])).toEqual({ kind: 'detect', images: ['x.jpg'], agnostic: false });
  });

  it.each([
    [[], /no images/],
    [['--bogus', 'x.jpg'], /bogus/],
    [['--conf', 'abc', 'x.jpg'], /--conf must be a number from 0 to 1, not "abc"/],
    [['--conf', '1.5', 'x.jpg'], /--conf/],
    [['--conf=', 'x.jpg'], /--conf/],
    [['--iou', '-0.1', 'x.jpg'], /iou/],
    [['--max-det', '2.5', 'x.jpg'], /--max-det/],
    [['--classes', 'a,,b', 'x.jpg'], /empty entry/],
    [['x.jpg', '--model'], /model/],
    [['--model-file', ' ', 'x.jpg'], /--model-file needs a path/],
    [['--model', 'yolox-nano', '--model-file', 'm.onnx', 'x.jpg'], /--model or --model-file, not both/],
  ])('refuses %j', (argv, message) => {
    const command = parseDetectArgs(argv);
    expect(command.kind).toBe('usage-error');
    expect(command.kind === 'usage-error' && command.message).toMatch(message);
  });

  it('answers --help', () => {
    expect(parseDetectArgs(['--help', 'x.jpg'])).toEqual({ kind: 'help' });
    expect(parseDetectArgs(['-h'])).toEqual({ kind: 'help' });
  });
});

describe(roundDetection.name, () => {
  it('rounds scores to 4 decimals and coordinates to 1', () => {
    expect(roundDetection({ label: 'dog', classId: 16, score: 0.912345, box: { x1: 1.04, y1: 2.05, x2: 3.96, y2: 100 } })).toEqual({
      label: 'dog',
      classId: 16,
      score: 0.9123,
      box: { x1: 1, y1: 2.1, x2: 4, y2: 100 },
    });
  });
});

describe(resolveClasses.name, () => {
  it('takes labels or ids and reports what matches nothing', () => {
    expect(resolveClasses(['car', '0', 'car', 'unicorn', '99'], ['person', 'bicycle', 'car'])).toEqual({ ids: [0, 2], unknown: ['unicorn', '99'] });
  });
});

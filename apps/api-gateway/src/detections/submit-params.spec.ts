import { testModelInfo } from '@argus/testing';
import { ApiError } from '../errors/api-error';
import { detectParams, parseSubmitFields, resolveClasses } from './submit-params';

const model = testModelInfo();
const defaults = { confidence: 0.25, iou: 0.45, maxDetections: 300 };

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof ApiError ? `${error.status} ${error.code}` : 'not an ApiError';
  }
  return undefined;
}

describe(parseSubmitFields.name, () => {
  it('parses form strings into typed options; form fields override the query', () => {
    expect(parseSubmitFields({ wait: '500', priority: 'low' }, { priority: 'high', confidence: '0.6', agnostic: 'true' })).toEqual({
      wait: 500,
      priority: 'high',
      confidence: 0.6,
      agnostic: true,
    });
  });

  it('treats empty fields as absent', () => {
    expect(parseSubmitFields({ confidence: '', model: ' ' })).toEqual({});
  });

  it('rejects a bad priority, out-of-range thresholds and non-numbers with 400', () => {
    expect(codeOf(() => parseSubmitFields({ priority: 'urgent' }))).toBe('400 validation_failed');
    expect(codeOf(() => parseSubmitFields({ confidence: '1.5' }))).toBe('400 validation_failed');
    expect(codeOf(() => parseSubmitFields({ iou: '-0.1' }))).toBe('400 validation_failed');
    expect(codeOf(() => parseSubmitFields({ wait: 'soon' }))).toBe('400 validation_failed');
    expect(codeOf(() => parseSubmitFields({ maxDetections: '0' }))).toBe('400 validation_failed');
  });

  it('rejects unknown fields and repeated fields, naming them', () => {
    expect(() => parseSubmitFields({ colour: 'red' })).toThrow(/unknown field\(s\) "colour"/);
    expect(() => parseSubmitFields({ priority: ['low', 'high'] })).toThrow(/more than once/);
  });

  it('refuses model names that could be anything but a name', () => {
    expect(codeOf(() => parseSubmitFields({ model: "yolox'; DROP TABLE detections; --" }))).toBe('400 validation_failed');
    expect(codeOf(() => parseSubmitFields({ model: '../../etc/passwd' }))).toBe('400 validation_failed');
  });

  it('takes a model name, or name@version to pin a version, and nothing else with an @', () => {
    expect(parseSubmitFields({ model: 'yolox-nano' })).toEqual({ model: 'yolox-nano' });
    expect(parseSubmitFields({ model: ' yolox-nano@2 ' })).toEqual({ model: 'yolox-nano@2' });
    expect(parseSubmitFields({ model: 'yolox-nano@v2.1-rc_3' })).toEqual({ model: 'yolox-nano@v2.1-rc_3' });
    for (const bad of ['yolox-nano@', '@2', 'yolox-nano@2@3', 'yolox-nano@.hidden', 'yolox-nano@../1', `yolox-nano@${'9'.repeat(65)}`]) {
      expect({ bad, code: codeOf(() => parseSubmitFields({ model: bad })) }).toEqual({ bad, code: '400 validation_failed' });
    }
    expect(() => parseSubmitFields({ model: 'yolox-nano@' })).toThrow(/optionally @version/);
  });
});

describe(resolveClasses.name, () => {
  it('maps labels (any case) and ids to sorted unique class ids', () => {
    expect(resolveClasses('Bus, person,0', model)).toEqual({ ids: [0, 5], labels: ['person', 'bus'] });
  });

  it('is null when no filter is given', () => {
    expect(resolveClasses(undefined, model)).toBeNull();
    expect(resolveClasses(' , ', model)).toBeNull();
  });

  it('answers 422 for a class the model does not know, listing what it knows', () => {
    expect(codeOf(() => resolveClasses('person,unicorn', model))).toBe('422 unknown_class');
    expect(() => resolveClasses('99', model)).toThrow(/knows: person, bicycle/);
  });
});

describe(detectParams.name, () => {
  it('takes the client value, else the model default, else the service default', () => {
    expect(detectParams({ confidence: 0.6 }, { ...model, defaults: { iou: 0.5 } }, null, defaults)).toEqual({
      confidence: 0.6,
      iou: 0.5,
      classes: null,
      maxDetections: 300,
      agnostic: false,
    });
  });
});

import { formatModelSelector, isUnloaded, parseModelSelector } from './models';

describe(parseModelSelector.name, () => {
  it('reads a model name, or name@version', () => {
    expect(parseModelSelector('yolox-nano')).toEqual({ name: 'yolox-nano' });
    expect(parseModelSelector('yolox-nano@2')).toEqual({ name: 'yolox-nano', version: '2' });
    expect(parseModelSelector('m.v_1@v2.1-rc')).toEqual({ name: 'm.v_1', version: 'v2.1-rc' });
  });

  it('refuses anything else: empty parts, a second @, names that are not names', () => {
    for (const text of ['', '@2', 'm@', 'm@2@3', 'm@.2', 'm@-2', 'a b', '../m', 'm@2/..', `m@${'1'.repeat(65)}`, 'x'.repeat(101)]) {
      expect({ text, parsed: parseModelSelector(text) }).toEqual({ text, parsed: null });
    }
  });

  it('round-trips through formatModelSelector', () => {
    for (const text of ['m', 'm@1', 'yolox-nano@v10']) expect(formatModelSelector(parseModelSelector(text) ?? { name: '' })).toBe(text);
  });
});

describe(isUnloaded.name, () => {
  it('holds for a version unloaded by name@version, or for every version of a model unloaded by name', () => {
    expect(isUnloaded({ unloaded: ['m@2'] }, 'm', '2')).toBe(true);
    expect(isUnloaded({ unloaded: ['m@2'] }, 'm', '1')).toBe(false);
    expect(isUnloaded({ unloaded: ['m'] }, 'm', '1')).toBe(true);
    expect(isUnloaded({ unloaded: ['mm'] }, 'm', '1')).toBe(false);
  });
});

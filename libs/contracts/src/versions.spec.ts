import { compareVersions, pickVersion, primaryVersion, selectVersions } from './versions';

describe(compareVersions.name, () => {
  it('orders numeric names numerically, the rest naturally, numeric names first', () => {
    const names = ['v10', '10', 'beta', '9', 'v2', '1', '2', '01', 'v2.1', '123456789012345678901234567890'];
    expect([...names].sort(compareVersions)).toEqual(['1', '01', '2', '9', '10', '123456789012345678901234567890', 'beta', 'v2', 'v2.1', 'v10']);
  });
});

const v = (...names: string[]) => names.map((version) => ({ version }));

describe(selectVersions.name, () => {
  const served = (selection: ReturnType<typeof selectVersions>) => selection.served.map((s) => [s.version, s.weight]);

  it('serves the newest version by default, with all the traffic', () => {
    expect(served(selectVersions(v('2', '10', '1')))).toEqual([['10', 100]]);
  });

  it('serves the newest N, all, or the ones named', () => {
    expect(served(selectVersions(v('1', '2', '3'), { latest: 2 }))).toEqual([
      ['2', 0],
      ['3', 100],
    ]);
    expect(served(selectVersions(v('1', '2'), { latest: 5 }))).toEqual([
      ['1', 0],
      ['2', 100],
    ]);
    expect(served(selectVersions(v('3', '1', '2'), 'all')).map(([name]) => name)).toEqual(['1', '2', '3']);
    const specific = selectVersions(v('v1', 'v2', 'v3'), { specific: ['v3', 'v1', 'v9'] });
    expect(served(specific)).toEqual([
      ['v1', 0],
      ['v3', 100],
    ]);
    expect(specific.notes).toEqual(['versionPolicy names v9, not in the repository (it has v1, v2, v3)']);
  });

  it('splits traffic by weight; served versions without a weight get none', () => {
    const selection = selectVersions(v('2', '3', '4'), 'all', { '3': 90, '4': 10 });
    expect(served(selection)).toEqual([
      ['2', 0],
      ['3', 90],
      ['4', 10],
    ]);
    expect(selection.notes).toEqual([]);
  });

  it('gives the newest all the traffic when no served version is weighted, and reports weights of versions not served', () => {
    const selection = selectVersions(v('1', '2', '3'), { latest: 2 }, { '1': 50, '2': 0 });
    expect(served(selection)).toEqual([
      ['2', 0],
      ['3', 100],
    ]);
    expect(selection.notes).toEqual(['weights name 1, not served (serving 2, 3)']);
  });

  it('serves nothing when the policy names no version that exists', () => {
    expect(selectVersions(v('1'), { specific: ['7'] }).served).toEqual([]);
    expect(selectVersions([]).served).toEqual([]);
  });
});

/** A seeded PRNG (mulberry32): the same sequence on every run, so the split is checked without chance. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe(pickVersion.name, () => {
  const split = [
    { version: '2', weight: 0 },
    { version: '3', weight: 90 },
    { version: '4', weight: 10 },
  ];

  it('sends 90/10 of the requests to versions weighted 90 and 10, and none to a version weighted 0', () => {
    const random = mulberry32(20240601);
    const counts: Record<string, number> = {};
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      const version = pickVersion(split, random());
      counts[version] = (counts[version] ?? 0) + 1;
    }
    // One standard deviation of the 10% share over 100k draws is 0.095%: 0.5% is over five.
    expect(Object.keys(counts).sort()).toEqual(['3', '4']);
    expect((counts['4'] ?? 0) / n).toBeCloseTo(0.1, 2);
    expect(Math.abs((counts['3'] ?? 0) / n - 0.9)).toBeLessThan(0.005);
  });

  it('maps the random number onto the shares in order', () => {
    expect([0, 0.5, 0.8999, 0.9, 0.9999].map((r) => pickVersion(split, r))).toEqual(['3', '3', '3', '4', '4']);
    expect(pickVersion([{ version: 'only', weight: 1 }], 0.999999)).toBe('only');
  });

  it('refuses a number outside [0, 1) and a split with no weight', () => {
    expect(() => pickVersion(split, 1)).toThrow(RangeError);
    expect(() => pickVersion(split, Number.NaN)).toThrow(RangeError);
    expect(() => pickVersion([{ version: '1', weight: 0 }], 0.5)).toThrow(/no served version has a weight/);
  });
});

describe(primaryVersion.name, () => {
  it('takes the version with the most weight, the newest among equals', () => {
    expect(primaryVersion([{ version: '1', weight: 90 }, { version: '2', weight: 10 }])?.version).toBe('1');
    expect(primaryVersion([{ version: '10', weight: 50 }, { version: '9', weight: 50 }])?.version).toBe('10');
    expect(primaryVersion([])).toBeUndefined();
  });
});

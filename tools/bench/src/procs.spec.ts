import { ProcessMonitor, parseMachineStat, parseProcStat, parseVmHwm } from './procs';

describe(parseProcStat.name, () => {
  it('reads utime and stime after a name holding spaces and parentheses', () => {
    const line = '1234 (node (my app)) S 1 1234 1234 0 -1 4194304 5000 0 0 0 250 75 0 0 20 0 11 0 900 1000000 20000 18446744073709551615';
    expect(parseProcStat(line)).toEqual({ comm: 'node (my app)', utime: 250, stime: 75 });
  });

  it('rejects what is not a stat line', () => {
    expect(() => parseProcStat('garbage')).toThrow(/stat/);
  });

  it('reads this process\'s own /proc entry', () => {
    const monitor = new ProcessMonitor();
    monitor.track('me', process.pid);
    const snap = monitor.snapshot();
    expect(snap.byName.get('me')?.get(process.pid)).toBeGreaterThanOrEqual(0);
    expect(monitor.peakRss()['me']).toBeGreaterThan(1024 * 1024);
  });
});

describe(parseVmHwm.name, () => {
  it('takes the peak resident set in bytes', () => {
    expect(parseVmHwm('Name:\tnode\nVmPeak:\t  900 kB\nVmHWM:\t  2048 kB\nVmRSS:\t 1024 kB\n')).toBe(2048 * 1024);
    expect(parseVmHwm('Name:\tkthreadd\n')).toBeUndefined();
  });
});

describe(parseMachineStat.name, () => {
  it('counts idle and iowait as not busy', () => {
    expect(parseMachineStat('cpu  100 5 50 1000 20 3 2 1 0 0\ncpu0 1 2 3 4\n')).toEqual({ busy: 161, total: 1181 });
  });
});

describe(ProcessMonitor.name, () => {
  it('turns tick deltas into cores, new processes counting from zero, and names the unexplained rest "other"', () => {
    const monitor = new ProcessMonitor();
    const t = monitor.ticksPerSecond;
    const a = { atMs: 0, machineBusy: 0, byName: new Map([['app', new Map([[1, 10 * t]])], ['pg', new Map([[5, 0]])]]) };
    const b = {
      atMs: 2000,
      machineBusy: 3 * t,
      byName: new Map([['app', new Map([[1, 11 * t]])], ['pg', new Map([[5, 0.5 * t], [6, 0.5 * t]])]]),
    };
    const cores = monitor.cores(a, b);
    expect(cores['app']).toBeCloseTo(0.5);
    expect(cores['pg']).toBeCloseTo(0.5);
    expect(cores['machine']).toBeCloseTo(1.5);
    expect(cores['other']).toBeCloseTo(0.5);
  });
});

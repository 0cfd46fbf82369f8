import { ArgError, NOOP_MODEL, PHASES, parseBenchArgs } from './args';

const run = (argv: string[]) => {
  const parsed = parseBenchArgs(argv);
  if (parsed.kind !== 'run') throw new Error('expected a run');
  return parsed.options;
};

describe(parseBenchArgs.name, () => {
  it('measures both models at 1, 4, 16 and 64 clients, every phase, by default', () => {
    const o = run([]);
    expect(o).toMatchObject({
      quick: false,
      models: ['yolox-nano', 'yolov8n-int8'],
      concurrency: [1, 4, 16, 64],
      durationS: 6,
      warmupS: 2,
      only: [...PHASES],
      gridInflight: [1, 2, 4],
      gridThreads: [1, 2],
      backlog: 500,
      retries: 1,
      stackEnv: {},
      outDir: 'bench/results',
      build: true,
    });
    expect(run(['--no-build']).build).toBe(false);
  });

  it('makes --quick short and yolox-nano only, unless told otherwise', () => {
    expect(run(['--quick'])).toMatchObject({ quick: true, models: ['yolox-nano'], durationS: 2, warmupS: 0.5, gridS: 1.5 });
    expect(run(['--quick', '--models', 'yolov8n-int8', '--duration', '3'])).toMatchObject({ models: ['yolov8n-int8'], durationS: 3 });
  });

  it('makes --noop the stack alone with the no-op model, at 16 and 64 clients unless told', () => {
    expect(run(['--noop'])).toMatchObject({ noop: true, models: [NOOP_MODEL], only: ['stack'], concurrency: [16, 64] });
    expect(run(['--noop', '--concurrency', '128']).concurrency).toEqual([128]);
    expect(run([]).noop).toBe(false);
    expect(() => run(['--noop', '--models', 'yolox-nano'])).toThrow(ArgError);
    expect(() => run(['--noop', '--only', 'bare'])).toThrow(ArgError);
  });

  it('reads lists, sorts concurrency and keeps phases in run order', () => {
    const o = run(['--models', 'a,b,a', '--concurrency', '16,1,4', '--only', 'stack,bare', '--grid-threads=1']);
    expect(o.models).toEqual(['a', 'b']);
    expect(o.concurrency).toEqual([1, 4, 16]);
    expect(o.only).toEqual(['bare', 'stack']);
    expect(o.gridThreads).toEqual([1]);
  });

  it('makes --profile an absolute folder, and leaves it out by default', () => {
    expect(run(['--profile', 'tmp/prof']).profileDir).toBe(`${process.cwd()}/tmp/prof`);
    expect(run([])).not.toHaveProperty('profileDir');
  });

  it('collects --env pairs for the stack, repeated or comma-separated', () => {
    expect(run(['--env', 'WORKER_CONCURRENCY=8,INTRA_OP_THREADS=1', '--env', 'LOG_LEVEL=warn']).stackEnv).toEqual({
      WORKER_CONCURRENCY: '8',
      INTRA_OP_THREADS: '1',
      LOG_LEVEL: 'warn',
    });
  });

  it('answers --help with the usage', () => {
    const parsed = parseBenchArgs(['--help']);
    expect(parsed.kind).toBe('help');
    expect(parsed.kind === 'help' && parsed.text).toMatch(/--concurrency/);
  });

  it.each([
    [['--bogus'], /bogus/],
    [['--concurrency', '0'], /--concurrency takes whole numbers >= 1, not "0"/],
    [['--concurrency', '1,,4'], /empty entry/],
    [['--concurrency', '2.5'], /--concurrency/],
    [['--duration', 'abc'], /--duration takes seconds/],
    [['--duration', '0'], /--duration/],
    [['--only', 'bare,gpu'], /--only takes .*"gpu"/],
    [['--models', 'a b'], /--models/],
    [['--env', 'lower=1'], /--env takes KEY=VALUE/],
    [['--backlog', '-5'], /--backlog/],
    [['--retries', 'x'], /--retries/],
    [['stray'], /stray|positional/i],
  ])('rejects %j', (argv, message) => {
    expect(() => parseBenchArgs(argv)).toThrow(ArgError);
    expect(() => parseBenchArgs(argv)).toThrow(message);
  });
});

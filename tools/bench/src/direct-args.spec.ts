import { formatDirectModels, parseDirectArgs } from './direct-args';

describe(parseDirectArgs.name, () => {
  it('reads the port, repository and per-model settings it is started with', () => {
    const models = [
      { name: 'yolox-nano', threads: 1, inflight: 4, modelThreads: 2 },
      { name: 'yolov8n-int8', threads: 2, inflight: 1, modelThreads: 1 },
    ];
    expect(parseDirectArgs(['--port', '4000', '--repository', '/m', '--models', formatDirectModels(models)])).toEqual({ port: 4000, repository: '/m', models });
  });

  it.each([
    [['--repository', '/m', '--models', 'a:1:1:1'], /--port is required/],
    [['--port', '99999', '--repository', '/m', '--models', 'a:1:1:1'], /--port must be a TCP port/],
    [['--port', '1', '--repository', '/m', '--models', 'a:1:0:1'], /name:threads:inflight:modelThreads/],
    [['--port', '1', '--repository', '/m', '--models', 'a:1:1:0'], /name:threads:inflight:modelThreads/],
    [['--port', '1', '--repository', '/m', '--models', 'a'], /name:threads:inflight:modelThreads/],
    [['--port', '1', '--models', 'a:1:1:1'], /--repository is required/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseDirectArgs(argv)).toThrow(message);
  });
});

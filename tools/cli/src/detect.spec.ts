import { testDetrModel, testImage, testModelRepository, workspaceRoot } from '@argus/testing';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `npm run detect -- ARGS` as a user would (same loader, same tsconfig), without npm in between. */
function detect(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['-r', '@swc-node/register', 'tools/cli/src/detect.ts', ...args],
      {
        cwd: workspaceRoot(),
        env: { ...process.env, SWC_NODE_PROJECT: 'tools/cli/tsconfig.app.json', MODEL_REPOSITORY: testModelRepository(), ...env },
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('npm run detect', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'argus-cli-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('prints the detections of bus.jpg as JSON on stdout, logs on stderr', async () => {
    const run = await detect([testImage('bus.jpg')]);
    expect(run.code).toBe(0);
    const [entry, ...rest] = JSON.parse(run.stdout) as Record<string, unknown>[];
    expect(rest).toEqual([]);
    expect(entry).toMatchObject({
      image: testImage('bus.jpg'),
      width: 810,
      height: 1080,
      model: { name: 'yolox-nano', version: expect.stringMatching(/^[0-9a-f]{12}$/) },
    });
    const detections = entry?.['detections'] as { label: string; classId: number; score: number; box: Record<string, number> }[];
    expect(detections.filter((d) => d.label === 'person' && d.score >= 0.5)).toHaveLength(3);
    expect(detections.filter((d) => d.label === 'bus')).toEqual([
      { label: 'bus', classId: 5, score: expect.closeTo(0.9133, 2), box: { x1: expect.any(Number), y1: expect.any(Number), x2: expect.any(Number), y2: expect.any(Number) } },
    ]);
    for (const d of detections) {
      expect(Math.round(d.score * 10000) / 10000).toBe(d.score);
      for (const v of Object.values(d.box)) expect(Math.round(v * 10) / 10).toBe(v);
    }
    expect(run.stderr).toMatch(/yolox-nano [0-9a-f]{12} \(yolox, 416x416\) on cpu/);
  });

  it('gives each bad input its error code, exits 1 and still prints pure JSON', async () => {
    const bus = await readFile(testImage('coco-000000002006-bus-640x480.jpg'));
    const files = {
      empty: join(dir, 'empty.jpg'),
      text: join(dir, 'notes.txt'),
      truncated: join(dir, 'truncated.jpg'),
    };
    await writeFile(files.empty, Buffer.alloc(0));
    await writeFile(files.text, 'this is not an image\n');
    await writeFile(files.truncated, bus.subarray(0, Math.floor(bus.length * 0.6)));
    const images = [files.empty, files.text, files.truncated, testImage('synthetic-gray-20000x14000.jpg'), join(dir, 'missing.jpg'), testImage('zidane.jpg')];
    const run = await detect(images);
    expect(run.code).toBe(1);
    const entries = JSON.parse(run.stdout) as { image: string; error?: { code: string; message: string } }[];
    expect(entries.map((e) => [e.image, e.error?.code ?? 'ok'])).toEqual([
      [files.empty, 'empty_image'],
      [files.text, 'not_an_image'],
      [files.truncated, 'truncated_image'],
      [testImage('synthetic-gray-20000x14000.jpg'), 'image_too_large'],
      [join(dir, 'missing.jpg'), 'not_found'],
      [testImage('zidane.jpg'), 'ok'],
    ]);
    expect(entries[3]?.error?.message).toContain('280 Mpx; the limit is 100 Mpx');
    expect(run.stderr).toContain('5 of 6 images failed');
  });

  it('honours MAX_IMAGE_BYTES without reading a big file', async () => {
    const run = await detect([testImage('bus.jpg')], { MAX_IMAGE_BYTES: '100000' });
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toEqual([{ image: testImage('bus.jpg'), error: { code: 'payload_too_large', message: expect.stringContaining('97.7 KiB') } }]);
  });

  it('uses --model, --conf and --classes', async () => {
    const run = await detect(['--model', 'yolov8n-int8', '--conf', '0.5', '--classes', 'person', testImage('bus.jpg')]);
    expect(run.code).toBe(0);
    const [entry] = JSON.parse(run.stdout) as { model: { name: string }; detections: { label: string; score: number }[] }[];
    expect(entry?.model.name).toBe('yolov8n-int8');
    expect(entry?.detections.map((d) => d.label)).toEqual(['person', 'person', 'person']); // the fourth scores 0.33
    expect(entry?.detections.every((d) => d.score >= 0.5)).toBe(true);
  });

  it('runs a DETR-family model given by path, without NMS', async () => {
    const run = await detect(['--model-file', testDetrModel(), '--conf', '0.4', testImage('zidane.jpg')]);
    expect(run.code).toBe(0);
    const [entry] = JSON.parse(run.stdout) as { model: { name: string; version: string }; detections: { label: string; score: number; box: Record<string, number> }[] }[];
    expect(entry?.model).toEqual({ name: 'deimv2-atto-int8', version: '246c44dfd900' });
    expect(entry?.detections).toEqual([
      { label: 'person', classId: 0, score: expect.closeTo(0.454, 2), box: { x1: expect.any(Number), y1: expect.any(Number), x2: expect.any(Number), y2: expect.any(Number) } },
    ]);
    expect(run.stderr).toMatch(/deimv2-atto-int8 246c44dfd900 \(detr, 320x320\) on cpu/);
  });

  it.each([
    [[], /no images/],
    [['--bogus', 'x.jpg'], /bogus/],
    [['--conf', 'high', 'x.jpg'], /--conf must be a number/],
    [['--model', 'yolov9', 'x.jpg'], /no model named "yolov9"; available: yolov8n-int8, yolox-nano/],
    [['--classes', 'unicorn', 'x.jpg'], /no class "unicorn"/],
  ])('exits 2 on the usage error %j, with the reason on stderr and nothing on stdout', async (args, message) => {
    const run = await detect(args);
    expect([run.code, run.stdout]).toEqual([2, '']);
    expect(run.stderr).toMatch(message);
  });

  it('prints its usage for --help', async () => {
    const run = await detect(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: npm run detect -- \[options\] IMAGE\.\.\./);
  });
});

import { type DetectionView, detectQueueName } from '@argus/contracts';
import { type Stack, startStack } from '@argus/testing';
import { Queue } from 'bullmq';
import { call, eventually, photo, upload } from './helpers';

/**
 * Several models, each served by its own pool: one inference process with MODELS=yolox-nano and
 * another with MODELS=yolov8n-int8 behind one gateway. Each job goes to its model's queue and is
 * taken only by a process serving that model.
 */
describe('model pools: a queue per model, each consumed only by the processes serving it', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ label: 'pools', start: ['results'] });
    await stack.startApp('inference', { MODELS: 'yolox-nano' });
    await stack.startApp('inference', { MODELS: 'yolov8n-int8' }, { instance: 'inference-yolov8' });
    await stack.startApp('api-gateway');
  });
  afterAll(() => stack?.stop());

  async function rows(ids: string[]): Promise<{ id: string; status: string; model_name: string; error_code: string | null }[]> {
    return eventually(async () => {
      const r = await stack.query(`SELECT id, status, model_name, error_code FROM "${stack.schema}".detections WHERE id = ANY($1)`, [ids]);
      return r.rows.length === ids.length ? (r.rows as { id: string; status: string; model_name: string; error_code: string | null }[]) : undefined;
    }, 120000);
  }

  it('runs every job of both models on the right pool: all complete, none fails with unknown_model', async () => {
    const bus = photo('bus.jpg');
    const submissions = ['yolox-nano', 'yolov8n-int8'].flatMap((model) =>
      Array.from({ length: 12 }, (_, i) => upload(stack, bus, { model, confidence: (0.3 + i * 0.001).toFixed(3) }).then((res) => ({ model, res }))),
    );
    const answered = await Promise.all(submissions);
    for (const { res } of answered) expect([200, 202]).toContain(res.status);
    const ids = answered.map(({ res }) => String(res.body['id']));
    const persisted = await rows(ids);
    expect(persisted.filter((r) => r.status !== 'completed')).toEqual([]);
    const byId = new Map(persisted.map((r) => [r.id, r.model_name]));
    expect(answered.map(({ model, res }) => byId.get(String(res.body['id'])) === model).every(Boolean)).toBe(true);
    // Each model's jobs sit in its own queue, and nowhere else.
    for (const model of ['yolox-nano', 'yolov8n-int8']) {
      const queue = new Queue(detectQueueName(model), { connection: stack.redis, prefix: stack.prefix });
      try {
        const completed = await queue.getCompleted(0, -1);
        expect(completed.every((job) => job.data.model.name === model)).toBe(true);
        expect(completed.length).toBeGreaterThanOrEqual(1);
      } finally {
        await queue.close();
      }
    }
  });

  it("keeps a job for a model with no live process waiting in its queue (its 202 says so), then completes it when a process for the model starts", async () => {
    await stack.stopApp('inference-yolov8');
    const res = await upload(stack, photo('zidane.jpg'), { model: 'yolov8n-int8' }, '?wait=1500');
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'queued', note: expect.stringContaining('yolov8n-int8') });
    const id = String(res.body['id']);
    // Nothing takes it meanwhile: the other pool does not serve that model.
    await new Promise((r) => setTimeout(r, 2000));
    expect(((await (await call(stack, `/v1/detections/${id}`)).json()) as DetectionView).status).toBe('queued');
    // A model nobody knows is refused at submit.
    expect((await upload(stack, photo('zidane.jpg'), { model: 'no-such-model' })).status).toBe(422);

    await stack.startApp('inference', { MODELS: 'yolov8n-int8' }, { instance: 'inference-yolov8' });
    const [row] = await rows([id]);
    expect(row).toMatchObject({ status: 'completed', model_name: 'yolov8n-int8' });
  });
});

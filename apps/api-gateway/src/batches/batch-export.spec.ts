import type { BatchItemResult, DetectionView } from '@argus/contracts';
import { CSV_HEADER, cocoDocument, csvField, csvRows, jsonlLine } from './batch-export';

const view = (id: string, over: Partial<DetectionView> = {}): DetectionView => ({
  id,
  status: 'completed',
  priority: 'normal',
  model: { name: 'yolox-nano', version: 'v1' },
  image: { width: 810, height: 1080, sha256: 'a'.repeat(64) },
  params: { confidence: 0.25, iou: 0.45, classes: null, maxDetections: 300, agnostic: false },
  detections: [
    { label: 'bus', classId: 5, score: 0.91, box: { x1: 10, y1: 20, x2: 110, y2: 220 } },
    { label: 'person', classId: 0, score: 0.5, box: { x1: 0.5, y1: 1, x2: 3.25, y2: 9 } },
  ],
  timings: { total: 40 },
  cached: false,
  error: null,
  provider: 'cpu',
  correlationId: 'c',
  createdAt: '2026-01-01T00:00:00.000Z',
  completedAt: '2026-01-01T00:00:00.040Z',
  ...over,
});

const bus: BatchItemResult = { image: 'bus.jpg', detection: view('d1') };
const failedOne: BatchItemResult = { image: 'https://img.example/x,"y".jpg', detection: view('d2', { status: 'failed', detections: [], error: { code: 'corrupt_image', message: 'bad' } }) };

describe('batch results export', () => {
  it('writes one JSON line per image: the detection view, image the name, imageInfo the size', () => {
    const line = jsonlLine(bus);
    expect(line.endsWith('\n')).toBe(true);
    expect(line.split('\n')).toHaveLength(2);
    const parsed = JSON.parse(line) as Record<string, unknown>;
    expect(parsed).toMatchObject({ id: 'd1', status: 'completed', image: 'bus.jpg', imageInfo: { width: 810, height: 1080 } });
    expect((parsed['detections'] as unknown[]).length).toBe(2);
  });

  it('writes one CSV row per box, and one row with empty box columns for an image without boxes', () => {
    expect(CSV_HEADER).toBe('image,detection_id,status,model,model_version,label,class_id,score,x1,y1,x2,y2,error_code\r\n');
    expect(csvRows(bus)).toBe('bus.jpg,d1,completed,yolox-nano,v1,bus,5,0.91,10,20,110,220,\r\nbus.jpg,d1,completed,yolox-nano,v1,person,0,0.5,0.5,1,3.25,9,\r\n');
    expect(csvRows(failedOne)).toBe('"https://img.example/x,""y"".jpg",d2,failed,yolox-nano,v1,,,,,,,,corrupt_image\r\n');
  });

  it('quotes what needs quoting and defuses spreadsheet formulas in client text', () => {
    expect(csvField('plain.jpg')).toBe('plain.jpg');
    expect(csvField('a\nb')).toBe('"a\nb"');
    expect(csvField('=HYPERLINK("x")')).toBe('"\'=HYPERLINK(""x"")"');
    expect(csvField('@cmd')).toBe("'@cmd");
    expect(csvField(-1.5)).toBe('-1.5');
    expect(csvField(null)).toBe('');
  });

  it('writes a COCO document: images by batch order, [x, y, w, h] boxes with scores, categories = class id + 1', () => {
    const doc = cocoDocument('b1', [bus, failedOne], ['person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus'], new Date('2026-01-02T00:00:00Z'));
    expect(doc.info).toEqual({ description: 'Argus batch b1', date_created: '2026-01-02T00:00:00.000Z' });
    expect(doc.images).toEqual([
      { id: 1, file_name: 'bus.jpg', width: 810, height: 1080, argus_detection_id: 'd1', argus_status: 'completed' },
      { id: 2, file_name: 'https://img.example/x,"y".jpg', width: 810, height: 1080, argus_detection_id: 'd2', argus_status: 'failed' },
    ]);
    expect(doc.annotations).toEqual([
      { id: 1, image_id: 1, category_id: 6, bbox: [10, 20, 100, 200], area: 20000, score: 0.91, iscrowd: 0 },
      { id: 2, image_id: 1, category_id: 1, bbox: [0.5, 1, 2.75, 8], area: 22, score: 0.5, iscrowd: 0 },
    ]);
    expect(doc.categories.map((c) => [c.id, c.name])).toEqual([
      [1, 'person'],
      [2, 'bicycle'],
      [3, 'car'],
      [4, 'motorcycle'],
      [5, 'airplane'],
      [6, 'bus'],
    ]);
  });

  it('names a category found but unknown to the label list by its own label', () => {
    expect(cocoDocument('b', [bus], []).categories).toEqual([
      { id: 1, name: 'person', supercategory: '' },
      { id: 6, name: 'bus', supercategory: '' },
    ]);
  });
});

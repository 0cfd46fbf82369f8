import { type BatchItemResult, type BatchResultFormat, batchResult } from '@argus/contracts';

/** The media type and file extension of each results format. */
export const RESULT_FORMATS: Readonly<Record<BatchResultFormat, { type: string; extension: string }>> = {
  jsonl: { type: 'application/x-ndjson; charset=utf-8', extension: 'jsonl' },
  csv: { type: 'text/csv; charset=utf-8', extension: 'csv' },
  coco: { type: 'application/json; charset=utf-8', extension: 'coco.json' },
};

/** Pure: one JSON Lines line: the item's detection view, `image` its name, `imageInfo` its size and hash. */
export function jsonlLine(item: BatchItemResult): string {
  return `${JSON.stringify(batchResult(item))}\n`;
}

export const CSV_COLUMNS = ['image', 'detection_id', 'status', 'model', 'model_version', 'label', 'class_id', 'score', 'x1', 'y1', 'x2', 'y2', 'error_code'] as const;

/** The CSV header line. */
export const CSV_HEADER = `${CSV_COLUMNS.join(',')}\r\n`;

/**
 * Pure: a CSV field (RFC 4180: quoted when it holds a comma, quote or line break, quotes doubled).
 * Text a spreadsheet would run as a formula (=, +, -, @, tab or carriage return first) gets a
 * leading apostrophe: image names come from clients.
 */
export function csvField(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/**
 * Pure: the CSV rows of one item: one per box; an item without boxes (none found, failed,
 * canceled) still gets one row with its box columns empty, so every image shows.
 */
export function csvRows({ image, detection: d }: BatchItemResult): string {
  const head = [image, d.id, d.status, d.model.name, d.model.version];
  const error = d.error?.code ?? null;
  const rows =
    d.detections.length === 0
      ? [[...head, null, null, null, null, null, null, null, error]]
      : d.detections.map((o) => [...head, o.label, o.classId, o.score, o.box.x1, o.box.y1, o.box.x2, o.box.y2, error]);
  return rows.map((row) => `${row.map(csvField).join(',')}\r\n`).join('');
}

/** A COCO dataset document whose annotations carry scores (so it is a COCO results file too). */
export interface CocoDocument {
  info: { description: string; date_created: string };
  images: { id: number; file_name: string; width: number; height: number; argus_detection_id: string; argus_status: string }[];
  annotations: { id: number; image_id: number; category_id: number; bbox: [number, number, number, number]; area: number; score: number; iscrowd: 0 }[];
  categories: { id: number; name: string; supercategory: string }[];
}

const round2 = (v: number) => Math.round(v * 100) / 100;

/**
 * Pure: a batch as one COCO document: `images` numbered from 1 in the batch's order (with the
 * detection's id and status), `annotations` with `bbox` = [x, y, width, height] in pixels, `area`
 * and `score`, and `categories` numbered the model's class id + 1 (COCO ids start at 1), named by
 * `labels` (the model's labels; a class found but not among them is added under its own label).
 */
export function cocoDocument(batchId: string, items: readonly BatchItemResult[], labels: readonly string[], now = new Date()): CocoDocument {
  const doc: CocoDocument = { info: { description: `Argus batch ${batchId}`, date_created: now.toISOString() }, images: [], annotations: [], categories: [] };
  const categories = new Map<number, string>(labels.map((label, classId) => [classId + 1, label]));
  items.forEach(({ image, detection }, index) => {
    const imageId = index + 1;
    doc.images.push({ id: imageId, file_name: image, width: detection.image.width, height: detection.image.height, argus_detection_id: detection.id, argus_status: detection.status });
    for (const d of detection.detections) {
      const width = Math.max(0, d.box.x2 - d.box.x1);
      const height = Math.max(0, d.box.y2 - d.box.y1);
      if (!categories.has(d.classId + 1)) categories.set(d.classId + 1, d.label);
      doc.annotations.push({
        id: doc.annotations.length + 1,
        image_id: imageId,
        category_id: d.classId + 1,
        bbox: [round2(d.box.x1), round2(d.box.y1), round2(width), round2(height)],
        area: round2(width * height),
        score: d.score,
        iscrowd: 0,
      });
    }
  });
  doc.categories = [...categories.entries()].sort(([a], [b]) => a - b).map(([id, name]) => ({ id, name, supercategory: '' }));
  return doc;
}

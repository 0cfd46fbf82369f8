import { parseArgs } from 'node:util';

/** What `npm run detect` was asked to do. */
export type DetectCommand =
  | { kind: 'help' }
  | { kind: 'usage-error'; message: string }
  | {
      kind: 'detect';
      images: string[];
      model?: string;
      /** An ONNX file to run instead of a repository model. */
      modelFile?: string;
      confidence?: number;
      iou?: number;
      maxDetections?: number;
      /** Labels or class ids, resolved against the model's labels once it is loaded. */
      classes?: string[];
      agnostic: boolean;
    };

export const DETECT_USAGE = `Usage: npm run detect -- [options] IMAGE...

Detects objects in each IMAGE and prints a JSON array to stdout, one entry per image.
Exit status: 0 all images done, 1 some image failed, 2 usage error.

Options:
  --model NAME      model in MODEL_REPOSITORY (default: DEFAULT_MODEL, yolox-nano); a model
                    with several versions runs the one its model.json weights most (else the newest)
  --model-file PATH an ONNX file outside the repository (YOLOX, YOLOv8/YOLO11 or a DETR-family
                    export; a model.json beside it applies); named after its folder
  --conf X          confidence threshold, 0..1 (default: model.json, else DEFAULT_CONFIDENCE)
  --iou X           NMS IoU threshold, 0..1 (default: model.json, else DEFAULT_IOU); DETR-family
                    models have no NMS and ignore it
  --max-det N       at most N detections per image (default: DEFAULT_MAX_DETECTIONS)
  --classes LIST    keep only these classes: labels or ids, comma-separated (person,car or 0,2)
  --agnostic        class-agnostic NMS (one box per place whatever its label)
  -h, --help        this text
`;

/** Parses the command line; never throws, never exits. */
export function parseDetectArgs(argv: string[]): DetectCommand {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (e) {
    return { kind: 'usage-error', message: e instanceof Error ? e.message : String(e) };
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'help' };
  if (positionals.length === 0) return { kind: 'usage-error', message: 'no images given' };
  const problems: string[] = [];
  const fraction = (flag: string, raw: string | undefined) => {
    if (raw === undefined) return undefined;
    const v = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(v) || v < 0 || v > 1) problems.push(`${flag} must be a number from 0 to 1, not "${raw}"`);
    return v;
  };
  const confidence = fraction('--conf', values.conf);
  const iou = fraction('--iou', values.iou);
  let maxDetections: number | undefined;
  if (values['max-det'] !== undefined) {
    maxDetections = Number(values['max-det']);
    if (!Number.isInteger(maxDetections) || maxDetections < 1 || maxDetections > 10000) {
      problems.push(`--max-det must be a whole number from 1 to 10000, not "${values['max-det']}"`);
    }
  }
  const classes = values.classes?.split(',').map((c) => c.trim());
  if (classes?.some((c) => c === '')) problems.push(`--classes has an empty entry: "${values.classes}"`);
  if (values.model !== undefined && values.model.trim() === '') problems.push('--model needs a name');
  if (values['model-file'] !== undefined && values['model-file'].trim() === '') problems.push('--model-file needs a path');
  if (values.model !== undefined && values['model-file'] !== undefined) problems.push('give --model or --model-file, not both');
  if (problems.length > 0) return { kind: 'usage-error', message: problems.join('; ') };
  return {
    kind: 'detect',
    images: positionals,
    ...(values.model !== undefined ? { model: values.model } : {}),
    ...(values['model-file'] !== undefined ? { modelFile: values['model-file'] } : {}),
    ...(confidence !== undefined ? { confidence } : {}),
    ...(iou !== undefined ? { iou } : {}),
    ...(maxDetections !== undefined ? { maxDetections } : {}),
    ...(classes ? { classes } : {}),
    agnostic: values.agnostic ?? false,
  };
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      model: { type: 'string' },
      'model-file': { type: 'string' },
      conf: { type: 'string' },
      iou: { type: 'string' },
      'max-det': { type: 'string' },
      classes: { type: 'string' },
      agnostic: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** The workspace root (the folder holding nx.json). */
export function workspaceRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'nx.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`nx.json not found above ${__dirname}`);
    dir = parent;
  }
  return dir;
}

/** `../shared` beside the checkout (ARGUS_SHARED_DIR overrides). Tests read models and photos there. */
export function sharedDir(): string {
  return resolve(process.env['ARGUS_SHARED_DIR'] ?? join(workspaceRoot(), '..', 'shared'));
}

/** The model repository tests use: MODEL_REPOSITORY, else ../shared/models. */
export function testModelRepository(): string {
  return resolve(process.env['MODEL_REPOSITORY'] ?? join(sharedDir(), 'models'));
}

/** The DETR-family test model (DEIMv2-Atto, int8) in models-detr, beside the YOLO test models. */
export function testDetrModel(): string {
  return join(sharedDir(), 'models-detr', 'deimv2-atto-int8', 'model.onnx');
}

/** The folder of test photos: ARGUS_TEST_IMAGES, else ../shared/images. */
export function testImagesDir(): string {
  return resolve(process.env['ARGUS_TEST_IMAGES'] ?? join(sharedDir(), 'images'));
}

/** The path of one test photo by file name. */
export function testImage(name: string): string {
  return join(testImagesDir(), name);
}

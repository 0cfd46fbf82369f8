import type { ModelFamily } from '@argus/contracts';
import { DETR } from './detr';
import type { ModelFamilyDefinition } from './family';
import { YOLOV8 } from './yolov8';
import { YOLOX } from './yolox';

/**
 * Every model family, in the order they try to recognise a model (the first that accepts its
 * layout serves it, unless model.json sets `family`). A new family is one module and one line
 * here (and its name in MODEL_FAMILIES, which the type below enforces).
 */
export const FAMILIES: Readonly<Record<ModelFamily, ModelFamilyDefinition>> = {
  yolox: YOLOX,
  yolov8: YOLOV8,
  detr: DETR,
};

/** The definition of a family by name. */
export function familyOf(name: ModelFamily): ModelFamilyDefinition {
  return FAMILIES[name];
}

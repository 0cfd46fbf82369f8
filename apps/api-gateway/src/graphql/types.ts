import {
  BATCH_STATUSES,
  type BatchStatus,
  type BatchView,
  DETECTION_STATUSES,
  type DetectionStatus,
  type DetectionView,
  ERROR_CODES,
  type ErrorCode,
  MODEL_FAMILIES,
  PRIORITIES,
  type Priority,
  SERVED_MODEL_STATES,
  SERVED_VERSION_STATES,
  type ServedModelState,
  type ServedVersionState,
  type VersionSummary,
} from '@argus/contracts';
import { Field, Float, ID, InputType, Int, ObjectType, OmitType, registerEnumType } from '@nestjs/graphql';

const enumOf = <T extends string>(values: readonly T[]) => Object.fromEntries(values.map((v) => [v, v])) as { [K in T]: K };

/** GraphQL enums use the same lower-case values as REST, so a client can switch on either. */
export const DetectionStatusEnum = enumOf(DETECTION_STATUSES);
export const PriorityEnum = enumOf(PRIORITIES);
export const ErrorCodeEnum = enumOf(ERROR_CODES);
export const ModelFamilyEnum = enumOf(MODEL_FAMILIES);
registerEnumType(DetectionStatusEnum, { name: 'DetectionStatus', description: 'queued -> active -> completed or failed; a waiting detection can be canceled' });
registerEnumType(PriorityEnum, { name: 'Priority' });
registerEnumType(ErrorCodeEnum, { name: 'ErrorCode', description: 'The same codes as REST errors (`error.code`) and `extensions.code`.' });
registerEnumType(ModelFamilyEnum, { name: 'ModelFamily' });
export const ModelStateEnum = enumOf(SERVED_MODEL_STATES);
export const ModelVersionStateEnum = enumOf(SERVED_VERSION_STATES);
registerEnumType(ModelStateEnum, {
  name: 'ModelState',
  description: 'serving (a version takes traffic), loading, unavailable (none can be loaded: see reason), unloaded (by an operator), offline (no live inference process holds it; its jobs wait)',
});
registerEnumType(ModelVersionStateEnum, {
  name: 'ModelVersionState',
  description: 'The best state any live inference process reports: serving, loading, draining (withdrawn, finishing its jobs), failed (see reason), unloaded (by an operator), offline (none holds it)',
});

@ObjectType('ModelRef')
export class ModelRefType {
  @Field() name!: string;
  @Field() version!: string;
}

@ObjectType('ImageInfo', { description: 'The photo as displayed (EXIF orientation applied).' })
export class ImageInfoType {
  @Field(() => Int) width!: number;
  @Field(() => Int) height!: number;
  @Field() sha256!: string;
}

@ObjectType('DetectParams', { description: 'The decoding parameters the detection ran with, defaults applied.' })
export class DetectParamsType {
  @Field(() => Float) confidence!: number;
  @Field(() => Float) iou!: number;
  @Field(() => [String], { nullable: true, description: 'The class filter as given; null keeps every class.' }) classes!: string[] | null;
  @Field(() => Int) maxDetections!: number;
  @Field() agnostic!: boolean;
}

@ObjectType('Box', { description: 'Corners in the displayed image\'s pixels.' })
export class BoxType {
  @Field(() => Float) x1!: number;
  @Field(() => Float) y1!: number;
  @Field(() => Float) x2!: number;
  @Field(() => Float) y2!: number;
}

@ObjectType('DetectedObject')
export class DetectedObjectType {
  @Field() label!: string;
  @Field(() => Int) classId!: number;
  @Field(() => Float) score!: number;
  @Field(() => BoxType) box!: BoxType;
}

@ObjectType('Timings', { description: 'Milliseconds per stage; absent stages were not run (a cache hit has none).' })
export class TimingsType {
  @Field(() => Float, { nullable: true }) queueWait?: number;
  @Field(() => Float, { nullable: true }) fetch?: number;
  @Field(() => Float, { nullable: true }) preprocess?: number;
  @Field(() => Float, { nullable: true }) inference?: number;
  @Field(() => Float, { nullable: true }) postprocess?: number;
  @Field(() => Float, { nullable: true }) persist?: number;
  @Field(() => Float, { nullable: true }) total?: number;
  @Field(() => Int, { nullable: true }) batchSize?: number;
}

@ObjectType('ErrorInfo')
export class ErrorInfoType {
  @Field(() => ErrorCodeEnum) code!: ErrorCode;
  @Field() message!: string;
}

@ObjectType('Detection', { description: 'A detection request at any stage; the same fields as REST GET /v1/detections/{id}.' })
export class DetectionType implements DetectionView {
  @Field(() => ID) id!: string;
  @Field(() => DetectionStatusEnum) status!: DetectionStatus;
  @Field(() => PriorityEnum) priority!: Priority;
  @Field(() => ModelRefType) model!: ModelRefType;
  @Field(() => ImageInfoType) image!: ImageInfoType;
  @Field(() => DetectParamsType) params!: DetectParamsType;
  @Field(() => [DetectedObjectType]) detections!: DetectedObjectType[];
  @Field(() => TimingsType) timings!: TimingsType;
  @Field({ description: 'Answered from the result cache.' }) cached!: boolean;
  @Field(() => ErrorInfoType, { nullable: true }) error!: ErrorInfoType | null;
  @Field(() => String, { nullable: true, description: 'The execution provider that ran the model (cpu, cuda).' }) provider!: string | null;
  @Field(() => String, { nullable: true }) correlationId!: string | null;
  @Field({ description: 'ISO-8601 UTC.' }) createdAt!: string;
  @Field(() => String, { nullable: true, description: 'ISO-8601 UTC; null until it ends.' }) completedAt!: string | null;
  @Field(() => String, { nullable: true, description: 'Something to know about where it stands, e.g. that no inference process serves its model right now (the job waits for one).' })
  note?: string;
}

@ObjectType('DetectionPage')
export class DetectionPageType {
  @Field(() => [DetectionType]) items!: DetectionType[];
  @Field(() => String, { nullable: true, description: 'Pass as `after` for the next page; null on the last page.' }) nextCursor!: string | null;
  @Field() hasNextPage!: boolean;
}

@ObjectType('ModelInput')
export class ModelInputType {
  @Field(() => Int) width!: number;
  @Field(() => Int) height!: number;
}

@ObjectType('ModelVersion')
export class ModelVersionType implements VersionSummary {
  @Field() version!: string;
  @Field(() => String, { nullable: true, description: 'sha256 of the model file and of the model.json settings it runs with; null when unreadable.' }) digest!: string | null;
  @Field(() => Float, { description: 'Relative share of the requests that do not name a version.' }) weight!: number;
  @Field(() => ModelVersionStateEnum) state!: ServedVersionState;
  @Field(() => String, { nullable: true, description: 'Why it does not serve (failed, unloaded, draining); null while it serves.' }) reason!: string | null;
  @Field(() => Int, { description: 'Inference processes serving this version now.' }) workers!: number;
}

@ObjectType('Model')
export class ModelType {
  @Field() name!: string;
  @Field({ description: 'The primary version (most traffic): its folder name, or the first 12 hex digits of the model file\'s sha256. Every version is in `versions`.' }) version!: string;
  @Field(() => ModelFamilyEnum) family!: string;
  @Field(() => ModelInputType) input!: ModelInputType;
  @Field() dynamicBatch!: boolean;
  @Field(() => Int) maxBatchSize!: number;
  @Field({ description: 'The execution provider that actually runs the model.' }) provider!: string;
  @Field(() => [String]) requestedProviders!: string[];
  @Field(() => [String], { description: 'Class labels, by class id.' }) labels!: string[];
  @Field(() => Int, { description: 'Inference processes serving the model now.' }) workers!: number;
  @Field() updatedAt!: string;
  @Field(() => ModelStateEnum) state!: ServedModelState;
  @Field(() => String, { nullable: true, description: 'Why it does not serve; null while it serves.' }) reason!: string | null;
  @Field(() => [ModelVersionType], { description: 'Every version, oldest first, with its traffic weight and state. Ask for one with model: "name@version".' }) versions!: ModelVersionType[];
}

@ObjectType('UnavailableModel', { description: 'A model the inference processes report but could never load: broken, loading for the first time, or unloaded.' })
export class UnavailableModelType {
  @Field() name!: string;
  @Field(() => ModelStateEnum) state!: ServedModelState;
  @Field(() => String, { nullable: true }) reason!: string | null;
  @Field(() => [ModelVersionType]) versions!: ModelVersionType[];
}

@ObjectType('DetectionEvent', { description: 'A status change of a detection; the last one (completed or failed) carries the detection.' })
export class DetectionEventType {
  @Field(() => ID) id!: string;
  @Field(() => DetectionStatusEnum) status!: DetectionStatus;
  @Field({ description: 'When the gateway saw the change (ISO-8601 UTC).' }) at!: string;
  @Field(() => DetectionType, { nullable: true }) detection!: DetectionView | null;
}

@InputType('DetectionOptions', { description: 'The same options as REST form fields; absent ones take the model\'s or the service\'s defaults.' })
export class DetectionOptionsInput {
  @Field(() => String, { nullable: true, description: 'A model name, or name@version to pin one version; otherwise the traffic weights pick it.' }) model?: string | null;
  @Field(() => PriorityEnum, { nullable: true }) priority?: Priority | null;
  @Field(() => Float, { nullable: true }) confidence?: number | null;
  @Field(() => Float, { nullable: true }) iou?: number | null;
  @Field(() => [String], { nullable: true, description: 'Labels or class ids to keep.' }) classes?: string[] | null;
  @Field(() => Int, { nullable: true }) maxDetections?: number | null;
  @Field(() => Boolean, { nullable: true }) agnostic?: boolean | null;
  @Field(() => Int, { nullable: true, description: 'Milliseconds to wait for the result (capped at WAIT_MAX_MS); 0 returns at once, queued.' })
  wait?: number | null;
  @Field(() => Int, { nullable: true, description: 'Milliseconds from now after which the job, if still waiting, fails with deadline_exceeded.' })
  deadlineMs?: number | null;
  @Field(() => String, { nullable: true, description: 'Where a signed webhook is posted when the detection ends (http or https, at an allowed address).' })
  callbackUrl?: string | null;
}

/** What deleting a detection did. */
export const DeletionOutcomeEnum = enumOf(['canceled', 'erased'] as const);
registerEnumType(DeletionOutcomeEnum, { name: 'DeletionOutcome', description: 'canceled: it was waiting; erased: it had ended, and is gone' });

@ObjectType('DetectionDeletion')
export class DetectionDeletionType {
  @Field(() => DeletionOutcomeEnum) outcome!: 'canceled' | 'erased';
  @Field(() => DetectionType, { nullable: true, description: 'The canceled detection; null once erased.' }) detection!: DetectionView | null;
}

export const BatchStatusEnum = enumOf(BATCH_STATUSES);
registerEnumType(BatchStatusEnum, { name: 'BatchStatus', description: 'queued (no image ended yet) -> active -> completed (every image ended)' });

@ObjectType('BatchItem', { description: 'One image of a batch: its detection, and the image\'s name (file name or URL).' })
export class BatchItemType {
  @Field(() => ID, { description: 'The detection id.' }) id!: string;
  @Field() image!: string;
}

@ObjectType('Batch', { description: 'A batch of images (REST: GET /v1/batches/{id}); `failed` counts failed and canceled images.' })
export class BatchType implements BatchView {
  @Field(() => ID) id!: string;
  @Field(() => BatchStatusEnum) status!: BatchStatus;
  @Field(() => Int) total!: number;
  @Field(() => Int) completed!: number;
  @Field(() => Int) failed!: number;
  @Field(() => [BatchItemType]) items!: BatchItemType[];
  @Field({ description: 'ISO-8601 UTC.' }) createdAt!: string;
  @Field(() => String, { nullable: true, description: 'ISO-8601 UTC; null until every image has ended.' }) completedAt!: string | null;
}

@ObjectType('BatchItemResult', { description: 'An image of a finished batch and its detection (REST: a line of the JSON Lines results).' })
export class BatchItemResultType {
  @Field() image!: string;
  @Field(() => DetectionType) detection!: DetectionView;
}

@InputType('BatchOptions', { description: 'A detection\'s options but `wait`; `callbackUrl` gets one batch.completed webhook.' })
export class BatchOptionsInput extends OmitType(DetectionOptionsInput, ['wait'] as const, InputType) {}

export * from './client';
export * from './errors';
export type { RetryEvent, RetryOptions } from './http';
export * from './sse';
export type {
  ApiErrorCode,
  BatchItem,
  BatchResult,
  BatchStatus,
  BatchView,
  Box,
  DetectedObject,
  DetectionPage,
  DetectionParams,
  DetectionStatus,
  DetectionView,
  ErrorBody,
  ErrorInfo,
  ImageInfo,
  ModelRef,
  ModelSummary,
  ModelVersionSummary,
  Priority,
  Timings,
  WebhookEvent,
} from './types';
export * from './webhooks';

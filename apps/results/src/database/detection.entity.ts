import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * One row per detection request that reached an end (completed, failed or canceled). Requests still queued
 * or running live in Redis; the gateway merges both views.
 */
@Entity({ name: 'detections' })
export class DetectionEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Column({ name: 'work_key', type: 'char', length: 64 })
  workKey!: string;

  @Column({ name: 'job_id', type: 'text', nullable: true })
  jobId!: string | null;

  @Column({ type: 'text' })
  status!: 'completed' | 'failed' | 'canceled';

  @Column({ type: 'text' })
  priority!: 'high' | 'normal' | 'low';

  @Column({ name: 'model_name', type: 'text' })
  modelName!: string;

  @Column({ name: 'model_version', type: 'text' })
  modelVersion!: string;

  @Column({ name: 'image_sha256', type: 'char', length: 64 })
  imageSha256!: string;

  @Column({ name: 'image_width', type: 'int' })
  imageWidth!: number;

  @Column({ name: 'image_height', type: 'int' })
  imageHeight!: number;

  @Column({ name: 'image_bytes', type: 'int' })
  imageBytes!: number;

  @Column({ type: 'jsonb' })
  params!: { confidence: number; iou: number; classes: number[] | null; classLabels: string[] | null; maxDetections: number; agnostic: boolean };

  @Column({ type: 'jsonb' })
  detections!: { label: string; classId: number; score: number; box: { x1: number; y1: number; x2: number; y2: number } }[];

  @Column({ name: 'detection_count', type: 'int' })
  detectionCount!: number;

  @Column({ type: 'jsonb' })
  timings!: Record<string, number>;

  @Column({ type: 'boolean' })
  cached!: boolean;

  @Column({ type: 'text', nullable: true })
  provider!: string | null;

  @Column({ name: 'error_code', type: 'text', nullable: true })
  errorCode!: string | null;

  @Column({ name: 'error_message', type: 'text', nullable: true })
  errorMessage!: string | null;

  @Column({ type: 'int' })
  attempts!: number;

  @Column({ name: 'correlation_id', type: 'text', nullable: true })
  correlationId!: string | null;

  @Column({ name: 'client_id', type: 'text', nullable: true })
  clientId!: string | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'completed_at', type: 'timestamptz' })
  completedAt!: Date;

  @Column({ name: 'persisted_at', type: 'timestamptz', default: () => 'now()' })
  persistedAt!: Date;
}

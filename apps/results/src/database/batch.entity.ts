import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * One row per batch whose images have all ended, written by the batch's job. A batch still
 * running lives in Redis (its flow); the gateway reads the row first, then the flow.
 */
@Entity({ name: 'batches' })
export class BatchEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Column({ name: 'client_id', type: 'text', nullable: true })
  clientId!: string | null;

  /** Each image's detection id and name, in the order they were sent. */
  @Column({ type: 'jsonb' })
  items!: { id: string; image: string }[];

  @Column({ type: 'int' })
  total!: number;

  @Column({ type: 'int' })
  completed!: number;

  @Column({ type: 'int' })
  failed!: number;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'completed_at', type: 'timestamptz' })
  completedAt!: Date;
}

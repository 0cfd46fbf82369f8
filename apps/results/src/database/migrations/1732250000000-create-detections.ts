import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The detections table and the indexes its reads use (by id, newest first, by status/model). */
export class CreateDetections1732250000000 implements MigrationInterface {
  name = 'CreateDetections1732250000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const table = `${schemaOf(queryRunner)}."detections"`;
    await queryRunner.query(`
      CREATE TABLE ${table} (
        "id" uuid PRIMARY KEY,
        "work_key" char(64) NOT NULL,
        "job_id" text,
        "status" text NOT NULL CHECK ("status" IN ('completed', 'failed')),
        "priority" text NOT NULL CHECK ("priority" IN ('high', 'normal', 'low')),
        "model_name" text NOT NULL,
        "model_version" text NOT NULL,
        "image_sha256" char(64) NOT NULL,
        "image_width" int NOT NULL,
        "image_height" int NOT NULL,
        "image_bytes" int NOT NULL,
        "params" jsonb NOT NULL,
        "detections" jsonb NOT NULL DEFAULT '[]',
        "detection_count" int NOT NULL DEFAULT 0,
        "timings" jsonb NOT NULL DEFAULT '{}',
        "cached" boolean NOT NULL DEFAULT false,
        "provider" text,
        "error_code" text,
        "error_message" text,
        "attempts" int NOT NULL DEFAULT 0,
        "correlation_id" text,
        "client_id" text,
        "created_at" timestamptz NOT NULL,
        "completed_at" timestamptz NOT NULL,
        "persisted_at" timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`CREATE INDEX "detections_created_idx" ON ${table} ("created_at" DESC, "id" DESC)`);
    await queryRunner.query(`CREATE INDEX "detections_status_created_idx" ON ${table} ("status", "created_at" DESC)`);
    await queryRunner.query(`CREATE INDEX "detections_model_created_idx" ON ${table} ("model_name", "created_at" DESC)`);
    await queryRunner.query(`CREATE INDEX "detections_work_key_idx" ON ${table} ("work_key")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE ${schemaOf(queryRunner)}."detections"`);
  }
}

function schemaOf(queryRunner: QueryRunner): string {
  const schema = (queryRunner.connection.options as { schema?: string }).schema ?? 'public';
  return `"${schema}"`;
}

import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Detections may end canceled (a client canceled them while they waited); batches get a row once
 * every image has ended; API keys made with the keys CLI carry a webhook secret (sealed when
 * WEBHOOK_ENCRYPTION_SECRET is set: see apps/results/src/keys/webhook-secret.ts).
 */
export class BatchesCancelWebhooks1765300000000 implements MigrationInterface {
  name = 'BatchesCancelWebhooks1765300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const schema = schemaOf(queryRunner);
    await queryRunner.query(`ALTER TABLE ${schema}."detections" DROP CONSTRAINT IF EXISTS "detections_status_check"`);
    await queryRunner.query(`ALTER TABLE ${schema}."detections" ADD CONSTRAINT "detections_status_check" CHECK ("status" IN ('completed', 'failed', 'canceled'))`);
    await queryRunner.query(`
      CREATE TABLE ${schema}."batches" (
        "id" uuid PRIMARY KEY,
        "client_id" text,
        "items" jsonb NOT NULL,
        "total" int NOT NULL,
        "completed" int NOT NULL,
        "failed" int NOT NULL,
        "created_at" timestamptz NOT NULL,
        "completed_at" timestamptz NOT NULL
      )`);
    await queryRunner.query(`CREATE INDEX "batches_created_idx" ON ${schema}."batches" ("created_at")`);
    await queryRunner.query(`ALTER TABLE ${schema}."api_keys" ADD COLUMN "webhook_secret" text`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const schema = schemaOf(queryRunner);
    await queryRunner.query(`ALTER TABLE ${schema}."api_keys" DROP COLUMN "webhook_secret"`);
    await queryRunner.query(`DROP TABLE ${schema}."batches"`);
    await queryRunner.query(`DELETE FROM ${schema}."detections" WHERE "status" = 'canceled'`);
    await queryRunner.query(`ALTER TABLE ${schema}."detections" DROP CONSTRAINT IF EXISTS "detections_status_check"`);
    await queryRunner.query(`ALTER TABLE ${schema}."detections" ADD CONSTRAINT "detections_status_check" CHECK ("status" IN ('completed', 'failed'))`);
  }
}

function schemaOf(queryRunner: QueryRunner): string {
  const schema = (queryRunner.connection.options as { schema?: string }).schema ?? 'public';
  return `"${schema}"`;
}

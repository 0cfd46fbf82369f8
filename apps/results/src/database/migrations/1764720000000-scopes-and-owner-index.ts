import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * API keys carry scopes (`admin` reads every client's detections), and reads are scoped to the
 * client that submitted: an index on (client_id, created_at, id) serves a client's own list,
 * newest first, with keyset pagination.
 */
export class ScopesAndOwnerIndex1764720000000 implements MigrationInterface {
  name = 'ScopesAndOwnerIndex1764720000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const schema = schemaOf(queryRunner);
    await queryRunner.query(`ALTER TABLE ${schema}."api_keys" ADD COLUMN "scopes" text[] NOT NULL DEFAULT '{}'`);
    await queryRunner.query(`CREATE INDEX "detections_client_created_idx" ON ${schema}."detections" ("client_id", "created_at" DESC, "id" DESC)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const schema = schemaOf(queryRunner);
    await queryRunner.query(`DROP INDEX ${schema}."detections_client_created_idx"`);
    await queryRunner.query(`ALTER TABLE ${schema}."api_keys" DROP COLUMN "scopes"`);
  }
}

function schemaOf(queryRunner: QueryRunner): string {
  const schema = (queryRunner.connection.options as { schema?: string }).schema ?? 'public';
  return `"${schema}"`;
}

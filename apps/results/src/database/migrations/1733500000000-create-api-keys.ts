import type { MigrationInterface, QueryRunner } from 'typeorm';

/** API keys managed with the keys CLI: only their sha256 is stored (docs/adr/0005). */
export class CreateApiKeys1733500000000 implements MigrationInterface {
  name = 'CreateApiKeys1733500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const table = `${schemaOf(queryRunner)}."api_keys"`;
    await queryRunner.query(`
      CREATE TABLE ${table} (
        "id" text PRIMARY KEY,
        "name" text NOT NULL,
        "key_sha256" char(64) NOT NULL UNIQUE,
        "priorities" text[] NOT NULL DEFAULT '{high,normal,low}',
        "rate_per_second" double precision CHECK ("rate_per_second" IS NULL OR "rate_per_second" >= 0),
        "rate_burst" int CHECK ("rate_burst" IS NULL OR "rate_burst" >= 1),
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "revoked_at" timestamptz,
        "last_used_at" timestamptz
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE ${schemaOf(queryRunner)}."api_keys"`);
  }
}

function schemaOf(queryRunner: QueryRunner): string {
  const schema = (queryRunner.connection.options as { schema?: string }).schema ?? 'public';
  return `"${schema}"`;
}

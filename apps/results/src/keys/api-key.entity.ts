import { Column, Entity, PrimaryColumn } from 'typeorm';

/** An API key managed in Postgres. The key itself is shown once, at creation; only its sha256 is kept. */
@Entity({ name: 'api_keys' })
export class ApiKeyEntity {
  /** Public id, part of the key text and of the client id (`key:<id>`). */
  @PrimaryColumn('text')
  id!: string;

  @Column({ type: 'text' })
  name!: string;

  @Column({ name: 'key_sha256', type: 'char', length: 64 })
  keySha256!: string;

  @Column({ type: 'text', array: true })
  priorities!: string[];

  /** Scopes beyond the key's own data (`admin`). */
  @Column({ type: 'text', array: true, default: () => "'{}'" })
  scopes!: string[];

  @Column({ name: 'rate_per_second', type: 'double precision', nullable: true })
  ratePerSecond!: number | null;

  @Column({ name: 'rate_burst', type: 'int', nullable: true })
  rateBurst!: number | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;

  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt!: Date | null;

  /** Signs its webhooks: shown once at creation, stored so it can sign (sealed when WEBHOOK_ENCRYPTION_SECRET is set). */
  @Column({ name: 'webhook_secret', type: 'text', nullable: true })
  webhookSecret!: string | null;
}

import { sql, type Kysely } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('licenses')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('key_hash', 'text', (c) => c.notNull().unique())
    .addColumn('key_last4', 'text', (c) => c.notNull())
    .addColumn('product', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('active'))
    .addColumn('max_machines', 'integer', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz')
    .addColumn('owner_id', 'uuid')
    .addColumn('owner_email', 'text')
    .addColumn('issued_by', 'uuid')
    .addColumn('entitlements', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .addColumn('revoked_at', 'timestamptz')
    .addColumn('suspended_at', 'timestamptz')
    .addColumn('abuse_suspected_at', 'timestamptz')
    .addCheckConstraint('licenses_status', sql`status in ('active', 'suspended', 'revoked')`)
    .addCheckConstraint('licenses_max_machines', sql`max_machines between 1 and 1000`)
    .execute()
  // Lists are newest first, by (created_at, id), within one of these scopes.
  await db.schema.createIndex('licenses_created').on('licenses').columns(['created_at', 'id']).execute()
  await db.schema.createIndex('licenses_owner').on('licenses').columns(['owner_id', 'created_at', 'id']).execute()
  await db.schema.createIndex('licenses_issuer').on('licenses').columns(['issued_by', 'created_at', 'id']).execute()
  // Unclaimed e-mail licenses only: the claim on every request of a verified user stays an index probe.
  await db.schema
    .createIndex('licenses_unclaimed_email')
    .on('licenses')
    .column('owner_email')
    .where(sql.ref('owner_id'), 'is', null)
    .execute()

  await db.schema
    .createTable('machines')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('license_id', 'uuid', (c) => c.notNull().references('licenses.id').onDelete('cascade'))
    .addColumn('fingerprint_hash', 'text', (c) => c.notNull())
    .addColumn('machine_name', 'text')
    .addColumn('platform', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('last_seen_at', 'timestamptz', (c) => c.notNull())
    .addUniqueConstraint('machines_license_fingerprint', ['license_id', 'fingerprint_hash'])
    .execute()

  await db.schema
    .createTable('activation_attempts')
    .addColumn('license_id', 'uuid', (c) => c.notNull().references('licenses.id').onDelete('cascade'))
    .addColumn('fingerprint_hash', 'text', (c) => c.notNull())
    .addColumn('attempted_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('activation_attempts_pkey', ['license_id', 'fingerprint_hash'])
    .execute()

  await db.schema
    .createTable('reseller_quotas')
    .addColumn('user_id', 'uuid', (c) => c.primaryKey())
    .addColumn('quota', 'integer')
    .addColumn('issued', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['reseller_quotas', 'activation_attempts', 'machines', 'licenses']) {
    await db.schema.dropTable(table).ifExists().execute()
  }
}

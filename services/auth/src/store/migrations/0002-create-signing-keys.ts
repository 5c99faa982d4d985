import { sql, type Kysely } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('signing_keys')
    .addColumn('kid', 'text', (c) => c.primaryKey())
    .addColumn('private_key_enc', 'text', (c) => c.notNull())
    .addColumn('public_jwk', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('retired_at', 'timestamptz')
    .addColumn('not_after', 'timestamptz')
    .execute()
  // At most one active key, whatever several replicas rotating or importing at once do.
  await sql`create unique index signing_keys_one_active on signing_keys ((true)) where retired_at is null`.execute(db)

  // Admin listing pages through users by id (uuid v7: creation order) and filters by role.
  await sql`create index users_roles on users using gin (roles)`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists users_roles`.execute(db)
  await db.schema.dropTable('signing_keys').ifExists().execute()
}

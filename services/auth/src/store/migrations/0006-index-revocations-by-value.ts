import type { Kysely } from 'kysely'

// A refresh reads the user's not-before instant from PostgreSQL in the rotating statement itself.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('revocations_value_kind').on('revocations').columns(['value', 'kind']).execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('revocations_value_kind').ifExists().execute()
}

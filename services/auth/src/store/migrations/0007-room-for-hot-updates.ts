import { sql, type Kysely } from 'kysely'

/**
 * A rotation marks the spent token used and touches its session: columns no index covers, so
 * PostgreSQL can update in place (HOT) when the page has room, instead of writing a new row
 * version into every index of the table (four on refresh_tokens). Pages left 30 % free keep
 * that room for the rows written since.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table refresh_tokens set (fillfactor = 70)`.execute(db)
  await sql`alter table sessions set (fillfactor = 70)`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table refresh_tokens reset (fillfactor)`.execute(db)
  await sql`alter table sessions reset (fillfactor)`.execute(db)
}

import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { databaseNameOf, withDatabaseName } from './database-url.ts'

/**
 * A URL on the same server as `url` naming a database no other test run uses
 * (`<prefix>_<random hex>`). `openDatabase` creates it; drop it with {@link dropDatabase}.
 *
 * @example
 * const dbUrl = uniqueDatabaseUrl(url, 'license_test')
 * after(() => dropDatabase(dbUrl))
 */
export function uniqueDatabaseUrl(url: string, prefix: string): string {
  return withDatabaseName(url, `${prefix}_${randomBytes(6).toString('hex')}`)
}

/**
 * Drops the database `url` points at, if it exists, from the `postgres` maintenance database on
 * the same server. `WITH (FORCE)` ends sessions still connected (a pool a failed test left open),
 * so cleanup never hangs; it needs PostgreSQL 13 or later.
 */
export async function dropDatabase(url: string): Promise<void> {
  const name = databaseNameOf(url)
  if (name === 'postgres') throw new Error('refusing to drop the maintenance database')
  const admin = new pg.Client({ connectionString: withDatabaseName(url, 'postgres') })
  admin.on('error', () => {})
  await admin.connect()
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`)
  } finally {
    await admin.end()
  }
}

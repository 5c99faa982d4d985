import type { Migration } from 'kysely'
import * as createAuthTables from './0001-create-auth-tables.ts'

/** Auth's migrations in order; applied at start by `openDatabase`. */
export const authMigrations: Record<string, Migration> = {
  '0001-create-auth-tables': createAuthTables,
}

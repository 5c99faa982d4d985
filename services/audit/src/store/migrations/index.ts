import type { Migration } from 'kysely'
import { outboxMigration } from '@platform/bus/outbox'
import * as createAuditTables from './0001-create-audit-tables.ts'

/** Audit's migrations in order; applied at start by `openDatabase`. The outbox carries `audit.alert.raised`. */
export const auditMigrations: Record<string, Migration> = {
  '0001-create-audit-tables': createAuditTables,
  '0002-outbox': outboxMigration,
}

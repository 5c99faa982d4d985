import type { Migration } from 'kysely'
import { outboxMigration } from '@platform/bus/outbox'
import * as createNotificationTables from './0001-create-notification-tables.ts'

/**
 * The notification service's migrations in order; applied at start by `openDatabase`. The outbox
 * migration brings the `inbox` table that makes each event count once.
 */
export const notificationMigrations: Record<string, Migration> = {
  '0001-create-notification-tables': createNotificationTables,
  '0002-outbox': outboxMigration,
}

import type { Migration } from 'kysely'
import { outboxMigration } from '@platform/bus/outbox'
import * as createLicenseTables from './0001-create-license-tables.ts'
import * as createSubscriptionLicenses from './0003-create-subscription-licenses.ts'

/** The license service's migrations in order; applied at start by `openDatabase`. */
export const licenseMigrations: Record<string, Migration> = {
  '0001-create-license-tables': createLicenseTables,
  '0002-outbox': outboxMigration,
  '0003-create-subscription-licenses': createSubscriptionLicenses,
}

import type { Migration } from 'kysely'
import { outboxMigration } from '@platform/bus/outbox'
import * as createPaymentsTables from './0001-create-payments-tables.ts'

/** The payments service's migrations in order; applied at start by `openDatabase`. */
export const paymentsMigrations: Record<string, Migration> = {
  '0001-create-payments-tables': createPaymentsTables,
  '0002-outbox': outboxMigration,
}

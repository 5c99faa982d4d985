import type { Kysely, Transaction } from 'kysely'
import type { Logger } from '@platform/platform'
import type { EventWriter } from '../events/publish.ts'
import type { PaymentProvider } from '../providers/provider.ts'
import type { PaymentsDatabase } from '../store/schema.ts'
import type { PlanCatalog } from './plans.ts'

/** What the payments use cases depend on; built once in the composition root. */
export type PaymentsDeps = {
  db: Kysely<PaymentsDatabase>
  /** Runs `fn` in one transaction and wakes the outbox relay after the commit. */
  inTransaction<T>(fn: (trx: Transaction<PaymentsDatabase>) => Promise<T>): Promise<T>
  events: EventWriter
  plans: PlanCatalog
  provider: PaymentProvider
  log: Logger
  now?: () => Date
}

export const nowOf = (deps: Pick<PaymentsDeps, 'now'>): Date => (deps.now ? deps.now() : new Date())

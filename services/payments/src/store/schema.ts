import type { ColumnType, Insertable, Selectable } from 'kysely'
import type { OutboxTables } from '@platform/bus/outbox'
import type { SubscriptionStatus } from '../domain/subscription.ts'

/** int8 comes back as text from both pg and PGlite (see @platform/db); written as a number. */
type Int8 = ColumnType<string, number, number>

export interface CheckoutSessionsTable {
  /** The provider's session id (`cs_…`; `cs_sandbox_…` for the sandbox). */
  id: string
  user_id: string
  plan: string
  provider: 'stripe' | 'sandbox'
  status: 'open' | 'completed'
  url: string
  created_at: Date
  completed_at: Date | null
}

export interface CustomersTable {
  /** The provider's customer id (`cus_…`), remembered from `checkout.session.completed`. */
  id: string
  user_id: string
  created_at: Date
}

export interface SubscriptionsTable {
  /** The provider's subscription id (`sub_…`). */
  id: string
  /** Null while only events that cannot be tied to a user have arrived (out of order). */
  user_id: string | null
  plan: string | null
  customer_id: string | null
  status: SubscriptionStatus
  current_period_end: Date | null
  trial_end: Date | null
  /**
   * The provider's `created` (seconds) of the event that set the state: events older than it
   * are recorded and ignored (Stripe delivers out of order). 0 while no event set a state.
   */
  state_at: Int8
  /** The status last announced in a `payments.subscription.*` event ('none': never). */
  announced_status: SubscriptionStatus
  /** Counts announcements; consumers ignore an event older than the last they applied. */
  version: number
  created_at: Date
  updated_at: Date
}

export interface WebhookEventsTable {
  /** The provider's event id: a redelivery finds it and changes nothing. */
  id: string
  type: string
  /** The provider's `created`, seconds. */
  created: Int8
  /** `applied`, `ignored` (a type we do not handle), `stale` (older than the state), `unattributed`. */
  outcome: string
  subscription_id: string | null
  received_at: Date
}

export interface PaymentsDatabase extends OutboxTables {
  checkout_sessions: CheckoutSessionsTable
  customers: CustomersTable
  subscriptions: SubscriptionsTable
  webhook_events: WebhookEventsTable
}

export type SubscriptionRow = Selectable<SubscriptionsTable>
export type NewSubscriptionRow = Insertable<SubscriptionsTable>
export type CheckoutSessionRow = Selectable<CheckoutSessionsTable>

import type { ColumnType, Insertable, Selectable } from 'kysely'
import type { OutboxTables } from '@platform/bus/outbox'

/** Where a delivery stands (CONTRACT §9). */
export type DeliveryStatus = 'pending' | 'sent' | 'retrying' | 'dead'

/** One mail to one recipient for one event: the unit that is sent, retried and listed. */
export interface DeliveriesTable {
  id: string
  event_id: string
  event_type: string
  template: string
  recipient: string
  /** The template's input; link tokens stay sealed here and are opened only to render. */
  params: ColumnType<Record<string, unknown>, string, string>
  status: ColumnType<DeliveryStatus, DeliveryStatus | undefined, DeliveryStatus>
  attempts: ColumnType<number, never, number>
  last_error: ColumnType<string | null, never, string | null>
  /** Not picked before this instant: the back-off after a failure, or a sender's lease. */
  next_attempt_at: ColumnType<Date, never, Date>
  /** Set by the sender that holds the lease; only it may record the outcome. */
  claim_id: ColumnType<string | null, never, string | null>
  created_at: ColumnType<Date, never, never>
  sent_at: ColumnType<Date | null, never, Date | null>
}

/** Who owns a user id, learned from `auth.user.registered`, for mails about a user by id. */
export interface UserDirectoryTable {
  user_id: string
  email: string
  updated_at: ColumnType<Date, never, Date>
}

export type NotificationDatabase = OutboxTables & {
  deliveries: DeliveriesTable
  user_directory: UserDirectoryTable
}

export type DeliveryRow = Selectable<DeliveriesTable>
export type NewDeliveryRow = Insertable<DeliveriesTable>

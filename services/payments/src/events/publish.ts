import type { Transaction } from 'kysely'
import { createEnvelope, type EventEnvelope, type EventOutcome } from '@platform/bus'
import { writeEvents } from '@platform/bus/outbox'
import { currentRequestId } from '@platform/platform'
import type { PaymentsDatabase } from '../store/schema.ts'

/**
 * Every event the payments service publishes (CONTRACT §7; docs/events.md lists their `data`).
 * None carries card data (the platform never sees any) or a secret; provider ids (`cus_…`,
 * `sub_…`, `evt_…`) are references, not credentials.
 */
export type PaymentsEventType =
  | 'payments.checkout.completed'
  | 'payments.subscription.activated'
  | 'payments.subscription.updated'
  | 'payments.subscription.canceled'
  | 'payments.webhook.processed'
  | 'payments.webhook.rejected'

export type PaymentsEvent = {
  type: PaymentsEventType
  subject?: { type: 'subscription' | 'checkout_session' | 'webhook'; id: string }
  outcome?: EventOutcome
  actorId?: string | undefined
  userAgent?: string | undefined
  data: Record<string, unknown>
}

export type EventWriter = {
  /** Writes the event to the outbox inside `trx`: it commits with the change it reports, or not at all. */
  write(trx: Transaction<PaymentsDatabase>, event: PaymentsEvent): Promise<void>
  /** Writes several events in one outbox INSERT inside `trx`; the same guarantee as `write`. */
  writeAll(trx: Transaction<PaymentsDatabase>, events: readonly PaymentsEvent[]): Promise<void>
  /**
   * The validated envelopes of `events`, for a store statement that writes them to the outbox
   * itself, together with the change they report (one round trip instead of two).
   */
  envelopes(events: readonly PaymentsEvent[]): EventEnvelope[]
}

/** The outbox writer of the payments service; the relay started in `start.ts` publishes the rows. */
export function createEventWriter(): EventWriter {
  const toEnvelope = (event: PaymentsEvent, requestId: string | undefined) =>
    createEnvelope({
      type: event.type,
      source: 'payments',
      data: event.data,
      ...(event.subject ? { subject: event.subject } : {}),
      ...(event.outcome ? { outcome: event.outcome } : {}),
      ...(event.actorId ? { actor_id: event.actorId } : {}),
      ...(requestId ? { request_id: requestId } : {}),
      ...(event.userAgent ? { user_agent: event.userAgent } : {}),
    })
  const envelopes: EventWriter['envelopes'] = (events) => {
    const requestId = currentRequestId()
    return events.map((event) => toEnvelope(event, requestId))
  }
  const writeAll: EventWriter['writeAll'] = (trx, events) => writeEvents(trx, envelopes(events))
  return { write: (trx, event) => writeAll(trx, [event]), writeAll, envelopes }
}

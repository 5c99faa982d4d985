import type { Kysely } from 'kysely'
import type { Bus, EventEnvelope, Subscription } from '@platform/bus'
import { handleOnce } from '@platform/bus/outbox'
import { uuidv7, type Logger } from '@platform/platform'
import { CONSUMED_PATTERNS, planDeliveries } from '../domain/plan-deliveries.ts'
import { insertDeliveries } from '../store/deliveries.ts'
import { emailOfUser, rememberUser } from '../store/directory.ts'
import type { NotificationDatabase } from '../store/schema.ts'

/** The service's durable queue on `platform.events` (under AMQP_PREFIX). */
export const NOTIFICATION_QUEUE = 'notification.events'
/** The inbox consumer name: an event id counts once for it. */
const CONSUMER = 'notification'

export type ConsumeDeps = {
  db: Kysely<NotificationDatabase>
  alertEmails: readonly string[]
  openSealed(sealed: string): string
}

/**
 * Records the deliveries an event causes, at most once per event id: the inbox row, the
 * directory entry and the delivery rows commit in one transaction, so a redelivered event finds
 * the inbox row and adds nothing ("one mail per event id however often it is delivered").
 * Returns how many deliveries were recorded; `null` when the event had been handled before.
 */
export async function consumeEvent(deps: ConsumeDeps, event: EventEnvelope): Promise<number | null> {
  let recorded = 0
  const handled = await handleOnce(deps.db, CONSUMER, event.id, async (trx) => {
    const plan = await planDeliveries(event, {
      alertEmails: deps.alertEmails,
      openSealed: deps.openSealed,
      emailOfUser: (userId) => emailOfUser(trx, userId),
    })
    if (plan.user) await rememberUser(trx, plan.user.id, plan.user.email)
    recorded = await insertDeliveries(
      trx,
      plan.deliveries.map((d) => ({
        id: uuidv7(),
        event_id: event.id,
        event_type: event.type,
        template: d.template,
        recipient: d.to,
        params: JSON.stringify(d.params),
      })),
    )
  })
  return handled ? recorded : null
}

/**
 * Subscribes the consumer: each event's deliveries are recorded, then the sender is woken. A
 * handler that throws (database down, malformed data) is retried by the bus and dead-lettered to
 * `notification.events.dlq` after its last attempt.
 */
export function subscribeToEvents(
  bus: Bus,
  deps: ConsumeDeps & { log: Logger; onRecorded(): void },
): Promise<Subscription> {
  return bus.subscribe(
    NOTIFICATION_QUEUE,
    [...CONSUMED_PATTERNS],
    async (event, meta) => {
      try {
        const recorded = await consumeEvent(deps, event)
        if (recorded) deps.onRecorded()
        deps.log.debug({ event_id: event.id, event_type: event.type, recorded, attempt: meta.attempt }, 'event consumed')
      } catch (error) {
        deps.log.warn({ event_id: event.id, event_type: event.type, attempt: meta.attempt, err: error }, 'event not consumed; the bus retries it')
        throw error
      }
    },
    { prefetch: 4 },
  )
}

import { z } from 'zod'
import type { Bus, EventEnvelope, Subscription } from '@platform/bus'
import { handleOnce } from '@platform/bus/outbox'
import type { Logger } from '@platform/platform'
import { nowOf, type LicenseDeps } from '../domain/deps.ts'
import { insertIssuedLicense } from '../domain/issue-license.ts'
import { setSuspendedIn } from '../domain/manage-license.ts'
import { lockOrCreateSubscriptionLicense, saveSubscriptionLicense } from '../store/subscription-licenses.ts'

/** The license service's durable queue for billing events (under AMQP_PREFIX). */
export const SUBSCRIPTION_QUEUE = 'license.payments'
/** The inbox consumer name: an event id counts once for it. */
const CONSUMER = 'license.payments'

/** What the license service reads of `payments.subscription.*` (docs/events.md); other fields are ignored. */
const subscriptionData = z.object({
  subscription_id: z.string().min(1).max(255),
  user_id: z.uuid(),
  plan: z.string().min(1).max(100),
  product: z.string().min(1).max(100),
  max_machines: z.number().int().min(1).max(1000),
  status: z.enum(['none', 'trialing', 'active', 'past_due', 'canceled']),
  version: z.number().int().positive(),
})

/** A `payments.subscription.*` event whose data is not what payments promises; retried, then dead-lettered. */
export class MalformedSubscriptionEventError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'MalformedSubscriptionEventError'
  }
}

/**
 * Applies a subscription change to the subscriber's license (CONTRACT §6), at most once per event
 * id: the inbox row and every change commit together. The first live state (trialing or active)
 * issues the plan's license to the user, once per subscription (`issued_by` null: the platform);
 * past_due or canceled suspends it; live again reactivates it. Events are applied by the state
 * they carry, and one with a `version` not newer than the last applied is dropped, so a
 * redelivery or an overtaken event (the relay and the broker keep no order) changes nothing.
 * Returns what it did, for logs and tests.
 */
export async function applySubscriptionEvent(deps: LicenseDeps, event: EventEnvelope): Promise<'issued' | 'suspended' | 'reactivated' | 'unchanged' | 'stale' | 'duplicate'> {
  const parsed = subscriptionData.safeParse(event.data)
  if (!parsed.success) throw new MalformedSubscriptionEventError(`${event.type} ${event.id}: data.${parsed.error.issues[0]?.path.join('.') ?? ''}: ${parsed.error.issues[0]?.message ?? 'invalid'}`)
  const data = parsed.data
  let result: 'issued' | 'suspended' | 'reactivated' | 'unchanged' | 'stale' = 'unchanged'
  const handled = await handleOnce(deps.db, CONSUMER, event.id, async (trx) => {
    const now = nowOf(deps)
    const record = await lockOrCreateSubscriptionLicense(trx, data.subscription_id, data.user_id)
    if (data.version <= record.version) {
      result = 'stale'
      return
    }
    const live = data.status === 'trialing' || data.status === 'active'
    const extra = { subscription_id: data.subscription_id, plan: data.plan }
    let licenseId = record.licenseId
    if (live && !licenseId) {
      const { license } = await insertIssuedLicense(
        deps,
        trx,
        { product: data.product, maxMachines: data.max_machines, ownerId: data.user_id, entitlements: [], issuedBy: null },
        {},
        now,
        extra,
      )
      licenseId = license.id
      result = 'issued'
    } else if (licenseId) {
      const before = await trx.selectFrom('licenses').select('status').where('id', '=', licenseId).executeTakeFirst()
      const after = await setSuspendedIn(deps, trx, licenseId, !live, `subscription_${data.status}`, extra)
      if (before?.status !== after?.status) result = live ? 'reactivated' : 'suspended'
    }
    await saveSubscriptionLicense(trx, { ...record, licenseId, status: data.status, version: data.version }, now)
  })
  return handled ? result : 'duplicate'
}

/**
 * Subscribes to `payments.subscription.*` on the durable queue `license.payments`. A handler that
 * throws (database down, malformed data) is retried by the bus and dead-lettered to
 * `license.payments.dlq` after its last attempt.
 */
export function subscribeToSubscriptionEvents(bus: Bus, deps: LicenseDeps & { log: Logger }): Promise<Subscription> {
  return bus.subscribe(SUBSCRIPTION_QUEUE, ['payments.subscription.*'], async (event, meta) => {
    try {
      const result = await applySubscriptionEvent(deps, event)
      deps.log.info({ event_id: event.id, event_type: event.type, result }, 'subscription event applied')
    } catch (error) {
      deps.log.warn({ event_id: event.id, event_type: event.type, attempt: meta.attempt, err: error }, 'subscription event not applied; the bus retries it')
      throw error
    }
  })
}

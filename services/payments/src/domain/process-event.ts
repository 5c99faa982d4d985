import { z } from 'zod'
import type { PaymentsEvent } from '../events/publish.ts'
import { patchedSubscription, type SubscriptionPatch } from '../store/subscriptions.ts'
import { claimWebhookEvent, finishWebhookEvent, recordWebhookEvent, type WebhookClaim } from '../store/webhook-events.ts'
import { nowOf, type PaymentsDeps } from './deps.ts'
import { periodEnd, trialEnd, type Plan } from './plans.ts'
import {
  checkoutSessionObject,
  invoiceObject,
  periodEndOfInvoice,
  periodEndOfSubscription,
  subscriptionObject,
  subscriptionOfInvoice,
  type ProviderEvent,
} from './provider-event.ts'
import { changeOf, isCurrent, isLive, statusFromStripe, type Subscription, type SubscriptionStatus } from './subscription.ts'

/**
 * What became of a provider event: `applied` (state changed or linked), `ignored` (a type the
 * platform does not act on, or a one-off invoice), `stale` (older than the subscription's state),
 * `unattributed` (no user or plan could be told yet; the state is kept for when one can),
 * `malformed` (signed, but not the object its type promises), `duplicate` (seen before).
 */
export type EventOutcome = 'applied' | 'ignored' | 'stale' | 'unattributed' | 'malformed' | 'duplicate'

type Handled = { outcome: Exclude<EventOutcome, 'duplicate'>; subscriptionId?: string | undefined }
type Pending = PaymentsEvent[]

/**
 * What an event asks of the database, told from its payload alone: either its outcome is known
 * already (`done`), or a subscription must be locked and read first (`claim`), and `decide`
 * turns what the claim read into the change, the events and the outcome.
 */
type EventPlan =
  | { kind: 'done'; handled: Handled; /** Logs what is odd about the event, once it is known not to be a redelivery. */ warn?: () => void }
  | { kind: 'claim'; claim: Omit<WebhookClaim, 'event'>; decide(locked: Subscription, customerUserId: string | undefined, events: Pending): Decided }
type Decided = { handled: Handled; patch: SubscriptionPatch }

const userId = z.uuid().transform((v) => v.toLowerCase())
const toUserId = (value: string | null | undefined): string | undefined => (value ? userId.safeParse(value).data : undefined)
const fromSeconds = (value: number | null | undefined): Date | null => (value ? new Date(value * 1000) : null)

/**
 * Applies one verified provider event, at most once. The event id is recorded first, in the same
 * transaction as every effect and every outbox row, so a redelivery (even one arriving while the
 * first is being processed) finds it and changes nothing. Events about one subscription are
 * serialized by its row lock and ordered by the provider's `created`: an older one than the state
 * already applied is recorded as `stale` and changes nothing. `source` says whether the event
 * came from a verified Stripe webhook or the sandbox's completion; the path is the same.
 *
 * Four round trips to the database for an event about a subscription: BEGIN; one statement that
 * records the event and (only if it is new) locks its subscription and reads the customer's user;
 * one that writes the outcome, the subscription's change and every outbox row; COMMIT. Everything
 * between is computed in memory from the locked row.
 */
export async function processProviderEvent(deps: PaymentsDeps, event: ProviderEvent, source: 'stripe' | 'sandbox'): Promise<{ outcome: EventOutcome; subscriptionId?: string | undefined }> {
  const now = nowOf(deps)
  const record = { id: event.id, type: event.type, created: event.created, receivedAt: now }
  const plan = planOf(deps, event, source, now)
  return deps.inTransaction(async (trx) => {
    if (plan.kind === 'done') {
      const handled = plan.handled
      if (!(await recordWebhookEvent(trx, { ...record, outcome: handled.outcome, subscriptionId: handled.subscriptionId ?? null }))) return { outcome: 'duplicate' as const }
      plan.warn?.()
      await deps.events.writeAll(trx, [processedEvent(event, source, handled)])
      return handled
    }
    const claimed = await claimWebhookEvent(trx, { event: record, ...plan.claim }, now)
    if (!claimed) return { outcome: 'duplicate' as const }
    const events: Pending = []
    const { handled, patch } = plan.decide(claimed.subscription, claimed.customerUserId, events)
    events.push(processedEvent(event, source, handled))
    await finishWebhookEvent(trx, { eventId: event.id, outcome: handled.outcome, subscriptionId: plan.claim.subscriptionId, patch, envelopes: deps.events.envelopes(events) }, now)
    return handled
  })
}

/** The audit trail of every verified event, whatever became of it. */
function processedEvent(event: ProviderEvent, source: 'stripe' | 'sandbox', handled: Handled): PaymentsEvent {
  return {
    type: 'payments.webhook.processed',
    subject: { type: 'webhook', id: event.id },
    outcome: 'success',
    data: { provider: source, provider_event_id: event.id, provider_event_type: event.type, outcome: handled.outcome, subscription_id: handled.subscriptionId ?? null },
  }
}

function planOf(deps: PaymentsDeps, event: ProviderEvent, source: 'stripe' | 'sandbox', now: Date): EventPlan {
  switch (event.type) {
    case 'checkout.session.completed':
      return onCheckoutCompleted(deps, event, source, now)
    case 'customer.subscription.created':
    case 'customer.subscription.updated':
    case 'customer.subscription.deleted':
      return onSubscriptionChanged(deps, event, now)
    case 'invoice.paid':
    case 'invoice.payment_failed':
      return onInvoice(deps, event, now)
    default:
      return done({ outcome: 'ignored' })
  }
}

const done = (handled: Handled, warn?: () => void): EventPlan => ({ kind: 'done', handled, ...(warn ? { warn } : {}) })

function onCheckoutCompleted(deps: PaymentsDeps, event: ProviderEvent, source: 'stripe' | 'sandbox', now: Date): EventPlan {
  const parsed = checkoutSessionObject.safeParse(event.object)
  if (!parsed.success) return malformed(deps, event)
  const session = parsed.data
  if (session.mode && session.mode !== 'subscription') return done({ outcome: 'ignored' })
  const user = toUserId(session.client_reference_id) ?? toUserId(session.metadata?.user_id)
  const plan = session.metadata?.plan ? deps.plans.byId(session.metadata.plan) : undefined
  const subscriptionId = session.subscription ?? undefined
  if (!user || !plan || !subscriptionId) {
    return done({ outcome: 'unattributed', subscriptionId }, () =>
      deps.log.warn({ provider_event_id: event.id, has_user: Boolean(user), has_plan: Boolean(plan), has_subscription: Boolean(subscriptionId) }, 'checkout completed without a user, a known plan or a subscription; ignored'),
    )
  }
  const customerId = session.customer ?? null
  return {
    kind: 'claim',
    // The customer and the completed session are written with the claim: they depend on the payload only.
    claim: { subscriptionId, checkout: { sessionId: session.id, userId: user, plan: plan.id, provider: source, url: session.url ?? '', customerId } },
    decide(before, _customerUser, events) {
      if (before.userId && before.userId !== user) deps.log.warn({ subscription_id: subscriptionId, provider_event_id: event.id }, 'checkout names another user than the subscription already has; the first stays')
      const patch: SubscriptionPatch = {
        ...(before.userId ? {} : { user_id: user }),
        ...(before.plan ? {} : { plan: plan.id }),
        ...(before.customerId || !customerId ? {} : { customer_id: customerId }),
      }
      // The session says the payment went through; the subscription's own events, when they come
      // (or came already), carry the authoritative state. So the state is inferred only when none is known.
      if (before.stateAt === 0 && before.status === 'none') Object.assign(patch, inferredState(plan, event.created))
      events.push({
        type: 'payments.checkout.completed',
        subject: { type: 'checkout_session', id: session.id },
        outcome: 'success',
        actorId: user,
        data: {
          checkout_session_id: session.id,
          user_id: user,
          plan: plan.id,
          product: plan.product,
          amount: session.amount_total ?? plan.amount,
          currency: session.currency ?? plan.currency,
          subscription_id: subscriptionId,
          customer_id: customerId,
          provider: source,
          provider_event_id: event.id,
        },
      })
      return { handled: { outcome: 'applied', subscriptionId }, patch: announce(deps, before, patch, event, now, events) }
    },
  }
}

/** The state a paid checkout implies: a trial when the plan has one, else a first paid period. */
function inferredState(plan: Plan, created: number): SubscriptionPatch {
  const start = new Date(created * 1000)
  const trial = plan.trialDays > 0 ? trialEnd(start, plan.trialDays) : null
  return { status: trial ? 'trialing' : 'active', trial_end: trial, current_period_end: trial ?? periodEnd(start, plan.interval), state_at: created }
}

function onSubscriptionChanged(deps: PaymentsDeps, event: ProviderEvent, now: Date): EventPlan {
  const parsed = subscriptionObject.safeParse(event.object)
  if (!parsed.success) return malformed(deps, event)
  const sub = parsed.data
  const customerId = sub.customer ?? undefined
  const priceId = sub.items?.data[0]?.price?.id
  const plan = (priceId ? deps.plans.byStripePrice(priceId) : undefined) ?? (sub.metadata?.plan ? deps.plans.byId(sub.metadata.plan) : undefined)
  return {
    kind: 'claim',
    claim: { subscriptionId: sub.id, customerId },
    decide(before, customerUser, events) {
      // Tied to the user by the customer remembered at checkout, else by the metadata checkout set.
      const user = customerUser ?? toUserId(sub.metadata?.user_id)
      const patch: SubscriptionPatch = linkPatch(before, user, plan?.id, customerId)
      const current = isCurrent(event.created, before.stateAt)
      if (current) {
        const status = event.type === 'customer.subscription.deleted' ? 'canceled' : statusFromStripe(sub.status)
        if (status) {
          const periodEndS = periodEndOfSubscription(sub)
          Object.assign(patch, {
            status,
            state_at: event.created,
            trial_end: fromSeconds(sub.trial_end),
            ...(periodEndS ? { current_period_end: fromSeconds(periodEndS) } : {}),
            // A plan change made at the provider (a new price) moves the subscription to that plan.
            ...(plan && before.plan && plan.id !== before.plan ? { plan: plan.id } : {}),
          } satisfies SubscriptionPatch)
        }
      }
      const full = announce(deps, before, patch, event, now, events)
      const linked = before.userId ?? full.user_id
      return { handled: { outcome: !current ? 'stale' : linked ? 'applied' : 'unattributed', subscriptionId: sub.id }, patch: full }
    },
  }
}

function onInvoice(deps: PaymentsDeps, event: ProviderEvent, now: Date): EventPlan {
  const parsed = invoiceObject.safeParse(event.object)
  if (!parsed.success) return malformed(deps, event)
  const invoice = parsed.data
  const subscriptionId = subscriptionOfInvoice(invoice)
  if (!subscriptionId) return done({ outcome: 'ignored' })
  const customerId = invoice.customer ?? undefined
  return {
    kind: 'claim',
    claim: { subscriptionId, customerId },
    decide(before, customerUser, events) {
      const patch: SubscriptionPatch = linkPatch(before, customerUser, undefined, customerId)
      const current = isCurrent(event.created, before.stateAt)
      if (current) {
        let status: SubscriptionStatus
        if (event.type === 'invoice.paid') {
          // The $0 invoice that opens a trial is "paid" too; it does not end the trial.
          status = before.status === 'trialing' && !invoice.amount_paid ? 'trialing' : 'active'
        } else {
          status = before.status === 'canceled' ? 'canceled' : 'past_due'
        }
        const periodEndS = event.type === 'invoice.paid' ? periodEndOfInvoice(invoice) : undefined
        Object.assign(patch, { status, state_at: event.created, ...(periodEndS ? { current_period_end: fromSeconds(periodEndS) } : {}) } satisfies SubscriptionPatch)
      }
      const full = announce(deps, before, patch, event, now, events)
      const linked = before.userId ?? full.user_id
      return { handled: { outcome: !current ? 'stale' : linked ? 'applied' : 'unattributed', subscriptionId }, patch: full }
    },
  }
}

/** Fills in who and what a subscription is about where it was not known yet; never overwrites. */
function linkPatch(before: Subscription, user: string | undefined, plan: string | undefined, customerId: string | undefined): SubscriptionPatch {
  return {
    ...(!before.userId && user ? { user_id: user } : {}),
    ...(!before.plan && plan ? { plan } : {}),
    ...(!before.customerId && customerId ? { customer_id: customerId } : {}),
  }
}

/**
 * Adds to `events` the `payments.subscription.*` event the change deserves, once the
 * subscription's user and plan are known (CONTRACT §6: the license service acts on them), and
 * returns `patch` with what announcing writes. `version` grows with every announcement so a
 * consumer can drop one that reaches it after a newer one.
 */
function announce(deps: PaymentsDeps, before: Subscription, patch: SubscriptionPatch, event: ProviderEvent, now: Date, events: Pending): SubscriptionPatch {
  const after = patchedSubscription(before, patch, now)
  if (!after.userId || !after.plan) return patch
  const plan = deps.plans.byId(after.plan)
  if (!plan) {
    deps.log.warn({ subscription_id: after.id, plan: after.plan }, 'subscription on a plan that is no longer configured; not announced')
    return patch
  }
  const detailsChanged =
    before.plan !== after.plan || before.currentPeriodEnd?.getTime() !== after.currentPeriodEnd?.getTime() || before.trialEnd?.getTime() !== after.trialEnd?.getTime()
  const change = changeOf(after.announcedStatus, after.status, detailsChanged)
  if (!change) return patch
  const version = after.version + 1
  events.push({
    type: `payments.subscription.${change}`,
    subject: { type: 'subscription', id: after.id },
    outcome: 'success',
    actorId: after.userId,
    data: {
      subscription_id: after.id,
      user_id: after.userId,
      plan: plan.id,
      product: plan.product,
      max_machines: plan.maxMachines,
      interval: plan.interval,
      amount: plan.amount,
      currency: plan.currency,
      status: after.status,
      previous_status: after.announcedStatus,
      active: isLive(after.status),
      current_period_end: after.currentPeriodEnd?.toISOString() ?? null,
      trial_end: after.trialEnd?.toISOString() ?? null,
      version,
      provider_event_id: event.id,
      provider_event_type: event.type,
    },
  })
  return { ...patch, announced_status: after.status, version }
}

function malformed(deps: PaymentsDeps, event: ProviderEvent): EventPlan {
  return done({ outcome: 'malformed' }, () =>
    deps.log.warn({ provider_event_id: event.id, provider_event_type: event.type }, 'a signed provider event does not carry the object its type promises; recorded and ignored'),
  )
}

import { AppError, uuidv7, ValidationError } from '@platform/platform'
import { sandboxCompletionEvent } from '../providers/sandbox-provider.ts'
import { findCheckoutSession, insertCheckoutSession } from '../store/checkout-sessions.ts'
import { customerOfUser } from '../store/customers.ts'
import { findCurrentSubscription, findSubscription } from '../store/subscriptions.ts'
import { nowOf, type PaymentsDeps } from './deps.ts'
import { processProviderEvent } from './process-event.ts'
import type { Subscription } from './subscription.ts'

const SESSION_NOT_FOUND = 'No checkout session with this id is visible to you'

/**
 * Opens a checkout for `planId` with the configured provider and remembers the session. A user
 * whose subscription still runs (trialing, active, past_due) gets 409 `subscription_exists`: a
 * second checkout would bill them twice.
 */
export async function startCheckout(deps: PaymentsDeps, userId: string, planId: string): Promise<{ id: string; url: string }> {
  const plan = deps.plans.byId(planId)
  if (!plan) throw new ValidationError([{ path: '/plan', message: 'unknown plan; GET /payments/plans lists them' }])
  const current = await findCurrentSubscription(deps.db, userId)
  if (current && current.status !== 'canceled' && current.status !== 'none') {
    throw new AppError('subscription_exists', 'You already have a subscription; it must end before another checkout')
  }
  const created = await deps.provider.createCheckout({ userId, plan, customerId: await customerOfUser(deps.db, userId), reference: uuidv7() })
  await insertCheckoutSession(deps.db, { id: created.id, userId, plan: plan.id, provider: deps.provider.name, url: created.url, createdAt: nowOf(deps) })
  return created
}

/**
 * The sandbox's "the customer paid": builds the `checkout.session.completed` event Stripe would
 * send and processes it exactly as a verified webhook. Completing again is a redelivery of the same
 * event id, so it changes nothing. Only the user who opened the session may complete it; anyone
 * else gets 404, as for an id that does not exist. With Stripe configured the route does not exist.
 */
export async function completeSandboxCheckout(deps: PaymentsDeps, userId: string, sessionId: string): Promise<Subscription> {
  if (deps.provider.name !== 'sandbox') throw new AppError('not_found')
  const session = await findCheckoutSession(deps.db, sessionId)
  if (!session || session.userId !== userId || session.provider !== 'sandbox') throw new AppError('checkout_session_not_found', SESSION_NOT_FOUND)
  const plan = deps.plans.byId(session.plan)
  const event = sandboxCompletionEvent(session, (plan?.trialDays ?? 0) > 0, nowOf(deps))
  await processProviderEvent(deps, event, 'sandbox')
  // Read back by the event's subscription id: a repeated completion is a duplicate and reports none.
  const subscription = await findSubscription(deps.db, String(event.object.subscription))
  if (!subscription) throw new AppError('checkout_session_not_found', SESSION_NOT_FOUND)
  return subscription
}

/** A sandbox session as its owner sees it; 404 for anyone else. */
export async function getSandboxCheckout(deps: PaymentsDeps, userId: string, sessionId: string) {
  if (deps.provider.name !== 'sandbox') throw new AppError('not_found')
  const session = await findCheckoutSession(deps.db, sessionId)
  if (!session || session.userId !== userId || session.provider !== 'sandbox') throw new AppError('checkout_session_not_found', SESSION_NOT_FOUND)
  return session
}

/** The caller's current subscription, if any. */
export function getSubscription(deps: PaymentsDeps, userId: string): Promise<Subscription | undefined> {
  return findCurrentSubscription(deps.db, userId)
}

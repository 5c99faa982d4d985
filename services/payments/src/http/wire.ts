import type { Plan } from '../domain/plans.ts'
import { isLive, type Subscription } from '../domain/subscription.ts'

export function planToWire(plan: Plan) {
  return {
    id: plan.id,
    product: plan.product,
    interval: plan.interval,
    amount: plan.amount,
    currency: plan.currency,
    trial_days: plan.trialDays,
    max_machines: plan.maxMachines,
  }
}

/** GET /payments/subscription (CONTRACT §6), plus the subscription's id. */
export function subscriptionToWire(subscription: Subscription | undefined) {
  if (!subscription) return { status: 'none' as const, plan: null, current_period_end: null, trial_end: null, active: false, subscription_id: null }
  return {
    status: subscription.status,
    plan: subscription.plan,
    current_period_end: subscription.currentPeriodEnd?.toISOString() ?? null,
    trial_end: subscription.trialEnd?.toISOString() ?? null,
    active: isLive(subscription.status),
    subscription_id: subscription.id,
  }
}

/** The platform's view of a subscription (CONTRACT §6); `none` until something made it live. */
export const SUBSCRIPTION_STATUSES = ['none', 'trialing', 'active', 'past_due', 'canceled'] as const
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number]

/** The verbs of `payments.subscription.<verb>`. */
export type SubscriptionChange = 'activated' | 'updated' | 'canceled'

export type Subscription = {
  id: string
  userId: string | null
  plan: string | null
  customerId: string | null
  status: SubscriptionStatus
  currentPeriodEnd: Date | null
  trialEnd: Date | null
  /** The provider's `created` (Unix seconds) of the event that set the state; 0 when none did. */
  stateAt: number
  announcedStatus: SubscriptionStatus
  version: number
  createdAt: Date
  updatedAt: Date
}

/** Whether a subscription in this status entitles its owner to the plan's license. */
export function isLive(status: SubscriptionStatus): boolean {
  return status === 'trialing' || status === 'active'
}

/**
 * Maps a Stripe subscription status onto the platform's. `unpaid` and `paused` stop the service
 * like `past_due` (the license is suspended, not gone); `incomplete_expired` never started and is
 * over. `incomplete` (first payment pending) is not a state yet: undefined, nothing changes.
 */
export function statusFromStripe(status: string): SubscriptionStatus | undefined {
  switch (status) {
    case 'trialing':
    case 'active':
    case 'past_due':
    case 'canceled':
      return status
    case 'unpaid':
    case 'paused':
      return 'past_due'
    case 'incomplete_expired':
      return 'canceled'
    default:
      return undefined
  }
}

/**
 * Which `payments.subscription.*` event a change deserves, judged against what was last
 * announced (not the previous row: a subscription whose events came before its user was known
 * has changed silently). Becoming live from nothing or from canceled is `activated`; ending is
 * `canceled`; anything else that changed (trialing → active, past_due and back, a new period
 * end) is `updated`; no change, nothing.
 */
export function changeOf(announced: SubscriptionStatus, next: SubscriptionStatus, detailsChanged: boolean): SubscriptionChange | undefined {
  if (next === 'none') return undefined
  if (announced === next) return detailsChanged ? 'updated' : undefined
  if (next === 'canceled') return 'canceled'
  if (isLive(next) && (announced === 'none' || announced === 'canceled')) return 'activated'
  return 'updated'
}

/**
 * Whether an event created at `eventCreated` (Unix seconds) may set the state of a subscription
 * whose state was set by an event created at `stateAt`. Stripe's `created` has one-second
 * resolution: an event of the same second is applied (the later arrival wins a tie).
 */
export function isCurrent(eventCreated: number, stateAt: number): boolean {
  return eventCreated >= stateAt
}

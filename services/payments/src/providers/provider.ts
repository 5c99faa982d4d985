import type { Plan } from '../domain/plans.ts'

/** What starting a checkout needs. */
export type CheckoutRequest = {
  userId: string
  plan: Plan
  /** The user's provider customer from an earlier checkout, reused so one person is one customer. */
  customerId?: string | undefined
  /** Unique per call: the provider's idempotency key, so a retried request opens one session. */
  reference: string
}

/** A checkout session the provider opened: where to send the user. */
export type CreatedCheckout = { id: string; url: string }

/**
 * Where customers pay: Stripe Checkout, or the sandbox that `npm start` uses without a Stripe key.
 * Either way the platform learns of a payment only through a provider event (a verified webhook,
 * or the sandbox's completion, which goes down the same path after verification).
 */
export interface PaymentProvider {
  readonly name: 'stripe' | 'sandbox'
  createCheckout(request: CheckoutRequest): Promise<CreatedCheckout>
}

import Stripe from 'stripe'
import { AppError, type Logger } from '@platform/platform'
import type { PaymentProvider } from './provider.ts'

/** Where the Stripe API is; tests point it at a local fake that records what it got. */
export type StripeApi = { host: string; port: number; protocol: 'http' | 'https' }

const STRIPE_TIMEOUT_MS = 10_000

/**
 * Stripe Checkout (mode `subscription`): the user pays on Stripe's page, and the platform learns
 * of it from the signed `checkout.session.completed` webhook. `client_reference_id` is the user id
 * and `metadata.plan` the plan, on the session and on the subscription it creates, so every later
 * event can be tied back even if it overtakes the checkout's.
 */
export function createStripeProvider(opts: { secretKey: string; successUrl: string; cancelUrl: string; log: Logger; api?: StripeApi }): PaymentProvider {
  const stripe = new Stripe(opts.secretKey, {
    timeout: STRIPE_TIMEOUT_MS,
    maxNetworkRetries: 2,
    telemetry: false,
    ...(opts.api ? { host: opts.api.host, port: opts.api.port, protocol: opts.api.protocol } : {}),
  })
  return {
    name: 'stripe',
    async createCheckout({ userId, plan, customerId, reference }) {
      const metadata = { plan: plan.id, user_id: userId }
      try {
        const session = await stripe.checkout.sessions.create(
          {
            mode: 'subscription',
            client_reference_id: userId,
            metadata,
            ...(customerId ? { customer: customerId } : {}),
            line_items: [
              plan.stripePriceId
                ? { price: plan.stripePriceId, quantity: 1 }
                : {
                    price_data: { currency: plan.currency, unit_amount: plan.amount, recurring: { interval: plan.interval }, product_data: { name: `${plan.product} (${plan.id})` } },
                    quantity: 1,
                  },
            ],
            subscription_data: { metadata, ...(plan.trialDays > 0 ? { trial_period_days: plan.trialDays } : {}) },
            success_url: opts.successUrl,
            cancel_url: opts.cancelUrl,
          },
          { idempotencyKey: reference },
        )
        if (!session.url) throw new Error('Stripe returned a checkout session without a url')
        return { id: session.id, url: session.url }
      } catch (error) {
        // Stripe's own messages can quote a masked key or the request; keep the kind of failure only.
        const e = error as { type?: unknown; code?: unknown; statusCode?: unknown }
        opts.log.error({ stripe_error: { type: e.type, code: e.code, status: e.statusCode } }, 'Stripe refused or did not answer a checkout session')
        throw new AppError('dependency_unavailable', 'The payment provider did not accept the checkout; try again later', { cause: error })
      }
    },
  }
}

import { uuidv7 } from '@platform/platform'
import type { ProviderEvent } from '../domain/provider-event.ts'
import type { PaymentProvider } from './provider.ts'

const SESSION_PREFIX = 'cs_sandbox_'

/**
 * The sandbox provider: opens sessions locally and "pays" them when the user calls
 * `POST /payments/sandbox/checkout/{id}/complete`. Ids look like Stripe's with `_sandbox_` in
 * them, so nobody mistakes one for a real payment.
 */
export function createSandboxProvider(opts: { publicUrl: string }): PaymentProvider {
  return {
    name: 'sandbox',
    async createCheckout() {
      const id = `${SESSION_PREFIX}${uuidv7().replaceAll('-', '')}`
      return { id, url: `${opts.publicUrl}/payments/sandbox/checkout/${id}` }
    },
  }
}

/**
 * The `checkout.session.completed` event Stripe would send for a paid sandbox session. Its id is
 * derived from the session's, so completing twice is one event delivered twice: no second effect.
 */
export function sandboxCompletionEvent(session: { id: string; userId: string; plan: string; url: string }, trialing: boolean, now: Date): ProviderEvent {
  const suffix = session.id.startsWith(SESSION_PREFIX) ? session.id.slice(SESSION_PREFIX.length) : session.id
  return {
    id: `evt_sandbox_${suffix}`,
    type: 'checkout.session.completed',
    created: Math.floor(now.getTime() / 1000),
    object: {
      id: session.id,
      object: 'checkout.session',
      mode: 'subscription',
      client_reference_id: session.userId,
      metadata: { plan: session.plan, user_id: session.userId },
      customer: `cus_sandbox_${session.userId.replaceAll('-', '')}`,
      subscription: `sub_sandbox_${suffix}`,
      payment_status: trialing ? 'no_payment_required' : 'paid',
      status: 'complete',
      url: session.url,
    },
  }
}

import { Router, type Request, type RequestHandler, type Response } from 'express'
import { AppError, parseInput } from '@platform/platform'
import { claimsOf } from '@platform/tokens/express'
import { completeSandboxCheckout, getSandboxCheckout, getSubscription, startCheckout } from '../domain/checkout.ts'
import type { PaymentsDeps } from '../domain/deps.ts'
import type { EventOutcome } from '../domain/process-event.ts'
import { receiveStripeWebhook } from '../domain/receive-webhook.ts'
import { checkoutBody, emptyBody, sessionIdParam } from './schemas.ts'
import { planToWire, subscriptionToWire } from './wire.ts'

/** The path whose body the app keeps raw (see `createPaymentsApp`). */
export const STRIPE_WEBHOOK_PATH = '/payments/webhooks/stripe'

export type WebhookCounter = { inc(labels: { outcome: EventOutcome | 'rejected' }): void }

/** The `/payments` routes of CONTRACT §6: handlers parse, call the domain, map to the wire. */
export function paymentsRoutes(deps: PaymentsDeps, opts: { bearer: RequestHandler; webhookSecret: string | undefined; webhooks: WebhookCounter }): Router {
  const router = Router()

  router.get('/plans', (_req, res) => {
    res.json({ items: deps.plans.all.map(planToWire) })
  })

  router.post('/checkout', opts.bearer, async (req, res) => {
    const { plan } = parseInput(checkoutBody, req.body ?? {})
    const created = await startCheckout(deps, userOf(res), plan)
    res.status(201).json({ checkout_session_id: created.id, url: created.url })
  })

  router.get('/subscription', opts.bearer, async (_req, res) => {
    res.json(subscriptionToWire(await getSubscription(deps, userOf(res))))
  })

  router.get('/sandbox/checkout/:id', opts.bearer, async (req, res) => {
    const session = await getSandboxCheckout(deps, userOf(res), sessionIdOf(req))
    res.json({ checkout_session_id: session.id, plan: session.plan, status: session.status, created_at: session.createdAt.toISOString(), completed_at: session.completedAt?.toISOString() ?? null })
  })

  router.post('/sandbox/checkout/:id/complete', opts.bearer, async (req, res) => {
    parseInput(emptyBody, req.body ?? {})
    const subscription = await completeSandboxCheckout(deps, userOf(res), sessionIdOf(req))
    res.json({ checkout_session_id: req.params.id, ...subscriptionToWire(subscription) })
  })

  // Stripe's webhook: the body is the raw bytes (the HMAC is over them), and any failure is one
  // answer that does not say which part failed. The unknown-field rule does not apply here.
  router.post('/webhooks/stripe', async (req, res) => {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0)
    const { outcome } = await receiveStripeWebhook(deps, { body, signature: req.header('stripe-signature'), userAgent: req.header('user-agent') }, opts.webhookSecret)
    opts.webhooks.inc({ outcome })
    if (outcome === 'rejected') throw new AppError('invalid_signature', 'The webhook could not be verified')
    res.json({ received: true })
  })

  return router
}

function userOf(res: Response): string {
  return claimsOf(res).sub
}

/** A path id that is not a session id names nothing: the same 404 as an unknown one. */
function sessionIdOf(req: Request): string {
  const parsed = sessionIdParam.safeParse(req.params.id)
  if (!parsed.success) throw new AppError('checkout_session_not_found')
  return parsed.data
}

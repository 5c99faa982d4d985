import { Router, type Request, type RequestHandler, type Response } from 'express'
import type { z } from 'zod'
import { AppError, parseInput } from '@platform/platform'
import { claimsOf } from '@platform/tokens/express'
import { completeSandboxCheckout, getSandboxCheckout, getSubscription, startCheckout } from '../domain/checkout.ts'
import type { PaymentsDeps } from '../domain/deps.ts'
import type { EventOutcome } from '../domain/process-event.ts'
import { receiveStripeWebhook } from '../domain/receive-webhook.ts'
import { api, type OperationId, type RouteSpec } from './api.ts'
import { buildOpenApi } from './openapi.ts'
import { sessionIdParam, type checkoutAnswer, type sandboxSessionAnswer, type webhookAnswer } from './schemas.ts'
import { planToWire, subscriptionToWire } from './wire.ts'

/** The path whose body the app keeps raw (see `createPaymentsApp`). */
export const STRIPE_WEBHOOK_PATH = api.stripeWebhook.path

export type WebhookCounter = { inc(labels: { outcome: EventOutcome | 'rejected' }): void }

/**
 * The `/payments` routes of CONTRACT §6: the table in `api.ts` says path, method and who may
 * call; this mounts each with its guard and handler (a route without a handler does not
 * compile). Handlers parse, call the domain, map to the wire.
 */
export function paymentsRoutes(deps: PaymentsDeps, opts: { bearer: RequestHandler; webhookSecret: string | undefined; webhooks: WebhookCounter; publicUrl: string }): Router {
  let document: object | undefined
  const handlers: Record<OperationId, RequestHandler> = {
    plans: (_req, res) => {
      res.json({ items: deps.plans.all.map(planToWire) })
    },

    openApi: (_req, res) => {
      document ??= buildOpenApi({ serverUrl: opts.publicUrl })
      res.json(document)
    },

    checkout: async (req, res) => {
      const { plan } = parseInput(api.checkout.body, req.body ?? {})
      const created = await startCheckout(deps, userOf(res), plan)
      res.status(201).json({ checkout_session_id: created.id, url: created.url } satisfies z.input<typeof checkoutAnswer>)
    },

    subscription: async (_req, res) => {
      res.json(subscriptionToWire(await getSubscription(deps, userOf(res))))
    },

    sandboxCheckout: async (req, res) => {
      const session = await getSandboxCheckout(deps, userOf(res), sessionIdOf(req))
      res.json({
        checkout_session_id: session.id,
        plan: session.plan,
        status: session.status,
        created_at: session.createdAt.toISOString(),
        completed_at: session.completedAt?.toISOString() ?? null,
      } satisfies z.input<typeof sandboxSessionAnswer>)
    },

    sandboxComplete: async (req, res) => {
      parseInput(api.sandboxComplete.body, req.body ?? {})
      const sessionId = sessionIdOf(req)
      const subscription = await completeSandboxCheckout(deps, userOf(res), sessionId)
      res.json({ checkout_session_id: sessionId, ...subscriptionToWire(subscription) })
    },

    // Stripe's webhook: the body is the raw bytes (the HMAC is over them), and any failure is one
    // answer that does not say which part failed. The unknown-field rule does not apply here.
    stripeWebhook: async (req, res) => {
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0)
      const { outcome } = await receiveStripeWebhook(deps, { body, signature: req.header('stripe-signature'), userAgent: req.header('user-agent') }, opts.webhookSecret)
      opts.webhooks.inc({ outcome })
      if (outcome === 'rejected') throw new AppError('invalid_signature', 'The webhook could not be verified')
      res.json({ received: true } satisfies z.input<typeof webhookAnswer>)
    },
  }

  const router = Router()
  for (const [id, spec] of Object.entries(api) as [OperationId, RouteSpec][]) {
    router[spec.method](routerPath(spec.path), ...(spec.access.kind === 'bearer' ? [opts.bearer] : []), handlers[id])
  }
  return router
}

/** `/payments/sandbox/checkout/{id}` → `/sandbox/checkout/:id`: the router is mounted at `/payments`. */
function routerPath(path: string): string {
  return path.replace(/^\/payments/, '').replace(/\{(\w+)\}/g, ':$1') || '/'
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

import type { Express, RequestHandler } from 'express'
import { createHttpApp, finishHttpApp, type Metrics, type ReadinessChecks } from '@platform/platform'
import type { PaymentsDeps } from './domain/deps.ts'
import { paymentsRoutes, STRIPE_WEBHOOK_PATH, type WebhookCounter } from './http/routes.ts'

/** Builds the payments service's express app; never listens, so tests can mount it on any port. */
export function createPaymentsApp(
  deps: PaymentsDeps,
  opts: { metrics: Metrics; readiness: ReadinessChecks; bearer: RequestHandler; webhookSecret: string | undefined; webhooks: WebhookCounter; publicUrl: string },
): Express {
  // The webhook is verified over the bytes Stripe signed, so its body is never parsed before (PITFALLS).
  const app = createHttpApp({ log: deps.log, metrics: opts.metrics, readiness: opts.readiness, rawBodyPaths: [STRIPE_WEBHOOK_PATH] })
  app.use('/payments', paymentsRoutes(deps, { bearer: opts.bearer, webhookSecret: opts.webhookSecret, webhooks: opts.webhooks, publicUrl: opts.publicUrl }))
  finishHttpApp(app, { log: deps.log })
  return app
}

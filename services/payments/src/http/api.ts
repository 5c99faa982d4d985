import type { ErrorCode } from '@platform/contracts'
import { routeProblems, type RouteSpec as BaseRouteSpec } from '@platform/platform/openapi'
import { providerEventPayload } from '../domain/provider-event.ts'
import * as s from './schemas.ts'

/** Who may call a route: anyone (Stripe, with its signature), or any valid bearer. */
export type Access = { kind: 'public' } | { kind: 'bearer' }

/** One route of the payments API (path parameters are checkout session ids). */
export type RouteSpec = BaseRouteSpec<Access>

const anyone = { kind: 'public' } as const
const bearer = { kind: 'bearer' } as const

/** Every route of the payments service (CONTRACT §6), in the order they are mounted. */
export const api = {
  plans: {
    method: 'get',
    path: '/payments/plans',
    summary: 'The plans on sale',
    access: anyone,
    success: { status: 200, description: 'Every configured plan', schema: s.plansAnswer },
    problems: [],
  },
  openApi: {
    method: 'get',
    path: '/payments/openapi.json',
    summary: 'This document',
    access: anyone,
    success: { status: 200, description: 'OpenAPI 3.1', schema: s.openApiAnswer },
    problems: [],
  },
  checkout: {
    method: 'post',
    path: '/payments/checkout',
    summary: 'Open a checkout for a plan',
    description:
      'Stripe Checkout in subscription mode, or the sandbox provider without `STRIPE_SECRET_KEY`. Card data never reaches the platform. A subscription still running (trialing, active, past_due) answers 409 `subscription_exists`; an unknown plan 400 `validation_failed` (`/plan`).',
    access: bearer,
    body: s.checkoutBody,
    bodyRequired: true,
    success: { status: 201, description: 'The session and where to pay', schema: s.checkoutAnswer },
    problems: ['subscription_exists'],
  },
  subscription: {
    method: 'get',
    path: '/payments/subscription',
    summary: 'Your subscription',
    description: 'The newest running subscription, else the newest one; `status: "none"` when there is none.',
    access: bearer,
    success: { status: 200, description: 'The subscription', schema: s.subscriptionAnswer },
    problems: [],
  },
  sandboxCheckout: {
    method: 'get',
    path: '/payments/sandbox/checkout/{id}',
    summary: 'A sandbox checkout session',
    description: "Sandbox only (404 `not_found` with Stripe configured). Someone else's session answers 404 as an unknown id does.",
    access: bearer,
    params: ['id'],
    success: { status: 200, description: 'The session', schema: s.sandboxSessionAnswer },
    problems: ['checkout_session_not_found', 'not_found'],
  },
  sandboxComplete: {
    method: 'post',
    path: '/payments/sandbox/checkout/{id}/complete',
    summary: 'Pay a sandbox checkout',
    description:
      'Sandbox only. Simulates the provider confirming payment: the platform reacts exactly as to a verified `checkout.session.completed` webhook. Again: 200, nothing happens twice. A plan with trial days starts `trialing`.',
    access: bearer,
    params: ['id'],
    body: s.emptyBody,
    success: { status: 200, description: 'The subscription the payment started', schema: s.sandboxCompletionAnswer },
    problems: ['checkout_session_not_found', 'not_found'],
  },
  stripeWebhook: {
    method: 'post',
    path: '/payments/webhooks/stripe',
    summary: "Stripe's webhook",
    description:
      "The body is a Stripe event, read as the raw bytes Stripe signed: `Stripe-Signature` carries `t=` and `v1=` (HMAC-SHA256 of `t.body` under the endpoint secret), checked in constant time, the timestamp within 300 s either way. A bad or missing signature, a wrong secret, a tampered body, a stale or future timestamp or a signed body that is not a Stripe event all answer the same 400 `invalid_signature`; without `STRIPE_WEBHOOK_SECRET` every webhook is refused. Idempotent by the event's `id`: a redelivery answers 200 and changes nothing. Handles `checkout.session.completed`, `customer.subscription.created/updated/deleted`, `invoice.paid` and `invoice.payment_failed`; any other type is recorded and ignored. The unknown-field rule does not apply.",
    access: anyone,
    body: providerEventPayload,
    bodyRequired: true,
    rawBody: true,
    success: { status: 200, description: 'Verified and recorded (applied, ignored, or a redelivery)', schema: s.webhookAnswer },
    problems: ['invalid_signature'],
  },
} as const satisfies Record<string, RouteSpec>

export type OperationId = keyof typeof api

/** Every code a route can answer with: its own, then those of its kind (`kitProblems`). */
export function problemsOf(spec: RouteSpec): ErrorCode[] {
  return routeProblems(spec, { bearer: spec.access.kind === 'bearer' })
}

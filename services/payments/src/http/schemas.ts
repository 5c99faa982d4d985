import { z } from 'zod'
import { INTERVALS } from '../domain/plans.ts'
import { SUBSCRIPTION_STATUSES } from '../domain/subscription.ts'

export const checkoutBody = z.strictObject({ plan: z.string().min(1).max(100) })

export const emptyBody = z.strictObject({})

/** Session ids as the providers make them (`cs_…`); anything else names nothing. */
export const sessionIdParam = z.string().regex(/^cs_[A-Za-z0-9_]{1,200}$/)

// Answers, documented in the OpenAPI document (http/api.ts) and checked against it end to end.

const timestamp = z.iso.datetime().meta({ description: 'RFC 3339, UTC' })

export const planAnswer = z.object({
  id: z.string(),
  product: z.string().meta({ description: 'The product whose license the plan issues' }),
  interval: z.enum(INTERVALS),
  amount: z.number().int().meta({ description: "Price per interval in the currency's minor unit (cents)" }),
  currency: z.string(),
  trial_days: z.number().int(),
  max_machines: z.number().int(),
})

export const plansAnswer = z.object({ items: z.array(planAnswer) })

export const checkoutAnswer = z.object({
  checkout_session_id: z.string(),
  url: z.string().meta({ description: "Where to send the user to pay: Stripe Checkout, or the sandbox's page" }),
})

const subscriptionFields = {
  status: z.enum(SUBSCRIPTION_STATUSES),
  plan: z.string().nullable(),
  current_period_end: timestamp.nullable(),
  trial_end: timestamp.nullable(),
  active: z.boolean().meta({ description: '`trialing` or `active`: the plan license is valid' }),
  subscription_id: z.string().nullable().meta({ description: "The provider's subscription id (`sub_…`)" }),
}

export const subscriptionAnswer = z.object(subscriptionFields)

export const sandboxCompletionAnswer = z.object({ checkout_session_id: z.string(), ...subscriptionFields })

export const sandboxSessionAnswer = z.object({
  checkout_session_id: z.string(),
  plan: z.string(),
  status: z.enum(['open', 'completed']),
  created_at: timestamp,
  completed_at: timestamp.nullable(),
})

export const webhookAnswer = z.object({ received: z.literal(true) })

export const openApiAnswer = z.looseObject({ openapi: z.string() })

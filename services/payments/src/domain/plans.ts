import { z } from 'zod'

/** A billing interval as Stripe names it. */
export const INTERVALS = ['day', 'week', 'month', 'year'] as const
export type Interval = (typeof INTERVALS)[number]

/** What a customer can subscribe to, and the license a subscription to it brings. */
export type Plan = {
  id: string
  /** The license service's product the subscriber's license is for. */
  product: string
  interval: Interval
  /** Price per interval in the currency's minor unit (cents). */
  amount: number
  /** ISO 4217, lower case (`usd`), as Stripe writes it. */
  currency: string
  trialDays: number
  maxMachines: number
  /** A Stripe Price (`price_…`) to charge instead of an inline price built from amount and interval. */
  stripePriceId?: string | undefined
}

const slug = z.string().min(1).max(100).regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, { message: 'letters, digits and . _ : - only' })

/** One plan as PAYMENTS_PLANS (or the file PAYMENTS_PLANS_FILE names) writes it. */
export const planSchema = z.strictObject({
  id: slug,
  product: slug,
  interval: z.enum(INTERVALS),
  amount: z.number().int().min(0).max(100_000_000),
  currency: z.string().regex(/^[a-z]{3}$/, { message: 'expected a lower-case ISO 4217 code such as usd' }),
  trial_days: z.number().int().min(0).max(730).default(0),
  max_machines: z.number().int().min(1).max(1000),
  stripe_price_id: z.string().regex(/^price_[A-Za-z0-9]+$/, { message: 'expected a Stripe price id (price_…)' }).optional(),
})

/** The whole plan list: at least one plan, ids unique. */
export const plansSchema = z
  .array(planSchema)
  .min(1, { message: 'expected at least one plan' })
  .max(100)
  .superRefine((plans, ctx) => {
    const seen = new Set<string>()
    plans.forEach((plan, i) => {
      if (seen.has(plan.id)) ctx.addIssue({ code: 'custom', message: `duplicate plan id ${plan.id}`, path: [i, 'id'] })
      seen.add(plan.id)
    })
  })
  .transform((plans): Plan[] =>
    plans.map((p) => ({
      id: p.id,
      product: p.product,
      interval: p.interval,
      amount: p.amount,
      currency: p.currency,
      trialDays: p.trial_days,
      maxMachines: p.max_machines,
      stripePriceId: p.stripe_price_id,
    })),
  )

/** The plans `npm start` offers when none are configured: enough to try every path (a trial too). */
export const DEFAULT_PLANS: readonly Plan[] = Object.freeze([
  { id: 'pro-monthly', product: 'editor-pro', interval: 'month', amount: 1200, currency: 'usd', trialDays: 0, maxMachines: 3 },
  { id: 'pro-yearly', product: 'editor-pro', interval: 'year', amount: 12000, currency: 'usd', trialDays: 14, maxMachines: 3 },
  { id: 'team-monthly', product: 'editor-team', interval: 'month', amount: 4900, currency: 'usd', trialDays: 0, maxMachines: 10 },
])

/** The configured plans by id. */
export type PlanCatalog = { all: readonly Plan[]; byId(id: string): Plan | undefined; byStripePrice(priceId: string): Plan | undefined }

export function createPlanCatalog(plans: readonly Plan[]): PlanCatalog {
  const byId = new Map(plans.map((p) => [p.id, p]))
  const byPrice = new Map(plans.flatMap((p) => (p.stripePriceId ? [[p.stripePriceId, p] as const] : [])))
  return { all: plans, byId: (id) => byId.get(id), byStripePrice: (priceId) => byPrice.get(priceId) }
}

const DAY_MS = 86_400_000

/** The end of the period that starts at `start`: calendar months and years, as Stripe counts them. */
export function periodEnd(start: Date, interval: Interval): Date {
  const end = new Date(start)
  switch (interval) {
    case 'day':
      return new Date(start.getTime() + DAY_MS)
    case 'week':
      return new Date(start.getTime() + 7 * DAY_MS)
    case 'month':
      end.setUTCMonth(end.getUTCMonth() + 1)
      return end
    case 'year':
      end.setUTCFullYear(end.getUTCFullYear() + 1)
      return end
  }
}

/** When a trial of `days` that starts at `start` ends. */
export function trialEnd(start: Date, days: number): Date {
  return new Date(start.getTime() + days * DAY_MS)
}

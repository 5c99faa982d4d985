import { z } from 'zod'

/**
 * A provider event after its signature was verified: Stripe's event envelope reduced to what the
 * platform reads. Parsed leniently — Stripe adds fields with every API version, and the
 * unknown-field rule of CONTRACT §2 does not apply to webhooks — but typed.
 */
export type ProviderEvent = {
  id: string
  type: string
  /** Unix seconds, the provider's clock: orders events about one subscription. */
  created: number
  object: Record<string, unknown>
}

/**
 * A Stripe event as the webhook body carries it (only what the platform reads; Stripe sends more).
 * Applied after the signature check; the OpenAPI document describes the webhook body with it.
 */
export const providerEventPayload = z.looseObject({
  id: z.string().min(1).max(255).meta({ description: 'The event id (`evt_…`): a redelivery carries the same one' }),
  type: z.string().min(1).max(255).meta({ description: 'E.g. `checkout.session.completed`, `customer.subscription.updated`, `invoice.paid`' }),
  created: z.number().int().nonnegative().max(1e11).meta({ description: "Unix seconds, the provider's clock: orders events about one subscription" }),
  data: z.looseObject({ object: z.record(z.string(), z.unknown()).meta({ description: 'The checkout session, subscription or invoice the event is about' }) }),
})

/** The event in a verified payload, or undefined when it is not a Stripe event. */
export function parseProviderEvent(payload: unknown): ProviderEvent | undefined {
  const parsed = providerEventPayload.safeParse(payload)
  if (!parsed.success) return undefined
  return { id: parsed.data.id, type: parsed.data.type, created: parsed.data.created, object: parsed.data.data.object }
}

const id = z.string().min(1).max(255)
/** A reference that Stripe sends as an id, or as the object when it was expanded. */
const ref = z.union([id, z.looseObject({ id })]).transform((v) => (typeof v === 'string' ? v : v.id))
const metadata = z.record(z.string(), z.unknown()).transform((m) => Object.fromEntries(Object.entries(m).filter((e): e is [string, string] => typeof e[1] === 'string')))
const seconds = z.number().int().nonnegative().max(1e11)

export const checkoutSessionObject = z.looseObject({
  id,
  mode: z.string().nullish(),
  client_reference_id: z.string().nullish(),
  metadata: metadata.nullish(),
  customer: ref.nullish(),
  subscription: ref.nullish(),
  amount_total: z.number().nullish(),
  currency: z.string().nullish(),
  url: z.string().nullish(),
})

export const subscriptionObject = z.looseObject({
  id,
  status: z.string(),
  customer: ref.nullish(),
  metadata: metadata.nullish(),
  current_period_end: seconds.nullish(),
  trial_end: seconds.nullish(),
  items: z
    .looseObject({
      data: z.array(z.looseObject({ current_period_end: seconds.nullish(), price: z.looseObject({ id }).nullish() })),
    })
    .nullish(),
})

const invoiceLine = z.looseObject({
  period: z.looseObject({ end: seconds }).nullish(),
  subscription: ref.nullish(),
  parent: z.looseObject({ subscription_item_details: z.looseObject({ subscription: ref.nullish() }).nullish() }).nullish(),
})

export const invoiceObject = z.looseObject({
  id: z.string().nullish(),
  customer: ref.nullish(),
  // Before API version 2025-03-31 the subscription is here; since, under `parent`.
  subscription: ref.nullish(),
  parent: z.looseObject({ subscription_details: z.looseObject({ subscription: ref.nullish() }).nullish() }).nullish(),
  amount_paid: z.number().nullish(),
  lines: z.looseObject({ data: z.array(invoiceLine) }).nullish(),
})

export type CheckoutSessionObject = z.output<typeof checkoutSessionObject>
export type SubscriptionObject = z.output<typeof subscriptionObject>
export type InvoiceObject = z.output<typeof invoiceObject>

/** The subscription an invoice bills, wherever the API version put it; undefined for a one-off invoice. */
export function subscriptionOfInvoice(invoice: InvoiceObject): string | undefined {
  const line = invoice.lines?.data.find((l) => l.subscription ?? l.parent?.subscription_item_details?.subscription)
  return invoice.subscription ?? invoice.parent?.subscription_details?.subscription ?? line?.subscription ?? line?.parent?.subscription_item_details?.subscription ?? undefined
}

/** The end of the latest period an invoice pays for, if it says. */
export function periodEndOfInvoice(invoice: InvoiceObject): number | undefined {
  const ends = (invoice.lines?.data ?? []).flatMap((l) => (l.period ? [l.period.end] : []))
  return ends.length ? Math.max(...ends) : undefined
}

/** A subscription's period end: on the subscription before API version 2025-03-31, on its items since. */
export function periodEndOfSubscription(subscription: SubscriptionObject): number | undefined {
  if (subscription.current_period_end) return subscription.current_period_end
  const ends = (subscription.items?.data ?? []).flatMap((i) => (i.current_period_end ? [i.current_period_end] : []))
  return ends.length ? Math.max(...ends) : undefined
}

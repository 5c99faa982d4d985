import { verifyStripeWebhook, type RejectReason } from '../providers/stripe-webhook.ts'
import { nowOf, type PaymentsDeps } from './deps.ts'
import { processProviderEvent, type EventOutcome } from './process-event.ts'
import { parseProviderEvent } from './provider-event.ts'

const USER_AGENT_MAX_LENGTH = 200

/** A Stripe webhook as received: the raw bytes (the HMAC is over them) and two headers. */
export type StripeWebhook = { body: Buffer; signature: string | undefined; userAgent: string | undefined }

/**
 * Everything a Stripe webhook does once its bytes are in: verify the signature, parse the event,
 * apply it at most once; or, if any of that fails, record the refusal. The route answers from the
 * outcome (`rejected`: one 400 that does not say which part failed); the benchmark calls this too.
 */
export async function receiveStripeWebhook(deps: PaymentsDeps, webhook: StripeWebhook, secret: string | undefined): Promise<{ outcome: EventOutcome | 'rejected' }> {
  const verified = verifyStripeWebhook(webhook.body, webhook.signature, secret, nowOf(deps))
  const event = verified.ok ? parseProviderEvent(verified.payload) : undefined
  if (!event) {
    await recordRejection(deps, verified.ok ? 'malformed_payload' : verified.reason, webhook.userAgent)
    return { outcome: 'rejected' }
  }
  return processProviderEvent(deps, event, 'stripe')
}

/** Every refused webhook is audited (without its body): a wrong secret or a replay shows there. */
async function recordRejection(deps: PaymentsDeps, reason: RejectReason, userAgent: string | undefined): Promise<void> {
  deps.log.warn({ reason }, 'webhook rejected')
  await deps.inTransaction((trx) =>
    deps.events.write(trx, { type: 'payments.webhook.rejected', outcome: 'denied', userAgent: userAgent?.slice(0, USER_AGENT_MAX_LENGTH), data: { provider: 'stripe', reason } }),
  )
}

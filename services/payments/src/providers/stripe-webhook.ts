import Stripe from 'stripe'

/** How far a signature's timestamp may be from now, either way (CONTRACT §6). */
export const SIGNATURE_TOLERANCE_S = 300
const SIGNATURE_HEADER_MAX_LENGTH = 4096

/** Why a webhook was refused; for the `payments.webhook.rejected` event and the log, never the answer. */
export type RejectReason = 'not_configured' | 'missing_signature' | 'bad_signature' | 'timestamp_out_of_tolerance' | 'malformed_payload'

export type Verified = { ok: true; payload: unknown } | { ok: false; reason: RejectReason }

/**
 * Verifies a Stripe webhook over the exact bytes received: `Stripe-Signature` carries `t=` and one
 * or more `v1=` HMAC-SHA256 of `t.body` under the endpoint secret. The official package checks
 * the HMAC (constant-time) and the age, but accepts a timestamp in the future (PITFALLS), so the
 * timestamp it signed over is read here the way the package reads it and held to the same 300 s
 * in both directions.
 */
export function verifyStripeWebhook(body: Buffer, header: string | undefined, secret: string | undefined, now: Date): Verified {
  if (!secret) return { ok: false, reason: 'not_configured' }
  if (!header || header.length > SIGNATURE_HEADER_MAX_LENGTH) return { ok: false, reason: 'missing_signature' }
  const signedAt = signedTimestamp(header)
  const nowS = Math.floor(now.getTime() / 1000)
  const inTolerance = signedAt !== undefined && Math.abs(nowS - signedAt) <= SIGNATURE_TOLERANCE_S
  let payload: unknown
  try {
    payload = Stripe.webhooks.constructEvent(body, header, secret, SIGNATURE_TOLERANCE_S, undefined, now.getTime())
  } catch (error) {
    if (error instanceof Stripe.errors.StripeSignatureVerificationError) return { ok: false, reason: inTolerance ? 'bad_signature' : 'timestamp_out_of_tolerance' }
    // The signature held but the body is not JSON (or not a webhook event).
    return { ok: false, reason: 'malformed_payload' }
  }
  if (!inTolerance) return { ok: false, reason: 'timestamp_out_of_tolerance' }
  return { ok: true, payload }
}

/**
 * The `t=` of a signature header, read as stripe-node reads it (comma-separated `k=v` items, the
 * last `t` wins, `parseInt`), so the time checked is the time that was signed. Undefined when
 * there is none or it is not a whole number of seconds.
 */
export function signedTimestamp(header: string): number | undefined {
  let timestamp: number | undefined
  for (const item of header.split(',')) {
    const [key, value] = item.split('=')
    if (key === 't') timestamp = Number.parseInt(value ?? '', 10)
  }
  return timestamp !== undefined && Number.isSafeInteger(timestamp) ? timestamp : undefined
}

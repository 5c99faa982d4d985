import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import Stripe from 'stripe'
import { signedTimestamp, verifyStripeWebhook } from './stripe-webhook.ts'

const secret = 'whsec_unit_test_secret_0123456789'
const payload = JSON.stringify({ id: 'evt_1', type: 'invoice.paid', created: 1, data: { object: {} } })
const now = new Date('2026-03-01T12:00:00Z')
const nowS = now.getTime() / 1000
const sign = (timestamp: number, body = payload, key = secret) => Stripe.webhooks.generateTestHeaderString({ payload: body, secret: key, timestamp })

describe('verifyStripeWebhook', () => {
  it('accepts a signature made within 300 s either way, and the event it signs', () => {
    for (const t of [nowS, nowS - 300, nowS + 300]) {
      const result = verifyStripeWebhook(Buffer.from(payload), sign(t), secret, now)
      assert.deepEqual(result, { ok: true, payload: JSON.parse(payload) })
    }
  })

  it('refuses a timestamp 301 s old or 301 s ahead, even when stripe-node would take the future one', () => {
    // The official package alone: a correctly signed future timestamp passes (PITFALLS).
    assert.doesNotThrow(() => Stripe.webhooks.constructEvent(payload, sign(nowS + 3600), secret, 300, undefined, now.getTime()))

    assert.deepEqual(verifyStripeWebhook(Buffer.from(payload), sign(nowS - 301), secret, now), { ok: false, reason: 'timestamp_out_of_tolerance' })
    assert.deepEqual(verifyStripeWebhook(Buffer.from(payload), sign(nowS + 301), secret, now), { ok: false, reason: 'timestamp_out_of_tolerance' })
  })

  it('refuses a changed body, another secret, no header, no secret configured', () => {
    assert.deepEqual(verifyStripeWebhook(Buffer.from(payload.replace('evt_1', 'evt_2')), sign(nowS), secret, now), { ok: false, reason: 'bad_signature' })
    assert.deepEqual(verifyStripeWebhook(Buffer.from(payload), sign(nowS, payload, 'whsec_another_secret_0123456789'), secret, now), { ok: false, reason: 'bad_signature' })
    assert.deepEqual(verifyStripeWebhook(Buffer.from(payload), undefined, secret, now), { ok: false, reason: 'missing_signature' })
    assert.deepEqual(verifyStripeWebhook(Buffer.from(payload), sign(nowS), undefined, now), { ok: false, reason: 'not_configured' })
  })

  it('refuses a correctly signed body that is not JSON', () => {
    assert.deepEqual(verifyStripeWebhook(Buffer.from('not json'), sign(nowS, 'not json'), secret, now), { ok: false, reason: 'malformed_payload' })
  })
})

describe('signedTimestamp', () => {
  it('reads t= as stripe-node does: the last one wins, and it must be a whole number', () => {
    assert.equal(signedTimestamp('t=5,v1=aa'), 5)
    assert.equal(signedTimestamp('t=5,t=9,v1=aa'), 9)
    assert.equal(signedTimestamp('v1=aa'), undefined)
    assert.equal(signedTimestamp('t=abc,v1=aa'), undefined)
  })
})

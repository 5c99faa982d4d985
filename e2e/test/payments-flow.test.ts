import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import Stripe from 'stripe'
import type { LicenseClient } from '@platform/license-client'
import { waitUntil } from '@platform/testkit/infra'
import { licenseClientFor, newFingerprint } from '../src/license-fixtures.ts'
import { registerAndLogin, startStack, type Stack } from '../src/stack.ts'

const WEBHOOK_SECRET = `whsec_${randomBytes(24).toString('base64url')}`
const nowS = () => Math.floor(Date.now() / 1000)

// The whole billing story through the gateway: the sandbox provider pays, signed Stripe webhooks
// (STRIPE_WEBHOOK_SECRET set in the stack) cancel and renew, and the license service follows.
describe('payments: sandbox checkout → subscription → license, then cancel and renew by webhook', () => {
  let stack: Stack
  let licensing: LicenseClient
  let closeClient: () => Promise<void>
  before(async () => {
    stack = await startStack({ STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET })
    ;({ client: licensing, close: closeClient } = await licenseClientFor(stack, 'editor-pro'))
  })
  after(async () => {
    await closeClient?.()
    await stack?.stop()
  })

  const webhook = (event: Record<string, unknown>) => {
    const payload = JSON.stringify(event)
    const signature = Stripe.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET })
    return stack.client.request('POST', '/payments/webhooks/stripe', { body: payload, headers: { 'content-type': 'application/json', 'stripe-signature': signature } })
  }
  const stripeEvent = (type: string, object: Record<string, unknown>, created: number) => ({ id: `evt_e2e${randomBytes(8).toString('hex')}`, object: 'event', type, created, livemode: false, data: { object } })

  it('a user who pays gets the plan license; cancel suspends it; a paid invoice reactivates it', async () => {
    const user = await registerAndLogin(stack.client)
    const plans = await stack.client.request('GET', '/payments/plans')
    assert.equal(plans.status, 200)
    const plan = (plans.body.items as { id: string; product: string; max_machines: number; trial_days: number }[]).find((p) => p.id === 'pro-monthly')!

    // Checkout and pay in the sandbox.
    const checkout = await stack.client.request('POST', '/payments/checkout', { token: user.accessToken, json: { plan: plan.id } })
    assert.equal(checkout.status, 201, checkout.text)
    const completePath = `/payments/sandbox/checkout/${checkout.body.checkout_session_id}/complete`
    const completed = await stack.client.request('POST', completePath, { token: user.accessToken, json: {} })
    assert.equal(completed.status, 200, completed.text)
    assert.equal((await stack.client.request('POST', completePath, { token: user.accessToken, json: {} })).status, 200)
    const subscription = await stack.client.request('GET', '/payments/subscription', { token: user.accessToken })
    assert.equal(subscription.body.status, 'active')
    assert.equal(subscription.body.plan, plan.id)
    const subscriptionId = subscription.body.subscription_id as string

    // The license service issued the plan's license to the user, once.
    let licenses: { id: string; product: string; max_machines: number; owner_id: string; issued_by: string | null; status: string }[] = []
    await waitUntil(
      async () => {
        licenses = (await stack.client.request('GET', '/licenses', { token: user.accessToken })).body.items
        return licenses.length > 0
      },
      { timeoutMs: 15_000, what: 'the subscription license' },
    )
    assert.equal(licenses.length, 1)
    const license = licenses[0]!
    assert.deepEqual([license.product, license.max_machines, license.owner_id, license.issued_by, license.status], [plan.product, plan.max_machines, user.id, null, 'active'])

    // The owner gets a key (the issued event never carries one) and activates a machine.
    const reissued = await stack.client.request('POST', `/licenses/${license.id}/reissue-key`, { token: user.accessToken, json: {} })
    assert.equal(reissued.status, 200, reissued.text)
    const fingerprint = newFingerprint()
    await licensing.activate({ key: reissued.body.key, fingerprint })
    assert.equal((await licensing.validateKey(reissued.body.key, fingerprint)).code, 'VALID')

    // Stripe cancels the subscription: the license is suspended.
    const canceled = await webhook(stripeEvent('customer.subscription.deleted', { id: subscriptionId, object: 'subscription', customer: `cus_sandbox_${user.id.replaceAll('-', '')}`, status: 'canceled', metadata: {} }, nowS() + 1))
    assert.equal(canceled.status, 200, canceled.text)
    assert.equal((await stack.client.request('GET', '/payments/subscription', { token: user.accessToken })).body.status, 'canceled')
    await waitUntil(async () => (await licensing.validateKey(reissued.body.key, fingerprint)).code === 'SUSPENDED', { timeoutMs: 15_000, what: 'validate to say SUSPENDED' })

    // A paid invoice brings it back: the same license is reactivated, no second one is issued.
    const paid = await webhook(
      stripeEvent('invoice.paid', { id: `in_e2e${randomBytes(6).toString('hex')}`, object: 'invoice', customer: `cus_sandbox_${user.id.replaceAll('-', '')}`, amount_paid: 1200, parent: { subscription_details: { subscription: subscriptionId } }, lines: { data: [{ period: { end: nowS() + 30 * 86400 } }] } }, nowS() + 2),
    )
    assert.equal(paid.status, 200, paid.text)
    assert.equal((await stack.client.request('GET', '/payments/subscription', { token: user.accessToken })).body.status, 'active')
    await waitUntil(async () => (await licensing.validateKey(reissued.body.key, fingerprint)).code === 'VALID', { timeoutMs: 15_000, what: 'validate to say VALID again' })
    assert.equal((await stack.client.request('GET', '/licenses', { token: user.accessToken })).body.items.length, 1)

    // A webhook with a bad signature is refused at the gateway's door like any other.
    const forged = await stack.client.request('POST', '/payments/webhooks/stripe', { body: '{}', headers: { 'content-type': 'application/json', 'stripe-signature': `t=${nowS()},v1=${'0'.repeat(64)}` } })
    assert.deepEqual([forged.status, forged.body.code], [400, 'invalid_signature'])
  })
})

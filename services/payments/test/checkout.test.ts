import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { infraUrl } from '@platform/testkit/infra'
import { openHarness, type Harness, type Setup } from './harness.ts'

const databaseUrl = infraUrl('DATABASE_URL')
const setups: Setup[] = [
  { name: 'PGlite', skip: false },
  { name: 'PostgreSQL', databaseUrl, skip: !databaseUrl },
]

for (const setup of setups) {
  describe(`checkout with the sandbox provider (${setup.name})`, { skip: setup.skip }, () => {
    let h: Harness
    before(async () => {
      h = await openHarness(setup)
    })
    after(() => h?.close())

    it('GET /payments/plans lists the embedded plans to anyone', async () => {
      const res = await h.request('GET', '/payments/plans')

      assert.equal(res.status, 200)
      assert.deepEqual(res.body.items[0], { id: 'pro-monthly', product: 'editor-pro', interval: 'month', amount: 1200, currency: 'usd', trial_days: 0, max_machines: 3 })
      assert.deepEqual(res.body.items.map((p: { id: string }) => p.id), ['pro-monthly', 'pro-yearly', 'team-monthly'])
    })

    it('POST /payments/checkout without a token answers 401; an unknown plan or field 400', async () => {
      const { token } = h.auth.token()
      const anonymous = await h.request('POST', '/payments/checkout', { json: { plan: 'pro-monthly' } })
      const unknownPlan = await h.request('POST', '/payments/checkout', { token, json: { plan: 'gold' } })
      const unknownField = await h.request('POST', '/payments/checkout', { token, json: { plan: 'pro-monthly', price: 1 } })

      assert.equal(anonymous.status, 401)
      assert.deepEqual([unknownPlan.status, unknownPlan.body.code, unknownPlan.body.errors[0].path], [400, 'validation_failed', '/plan'])
      assert.deepEqual([unknownField.status, unknownField.body.errors[0]], [400, { path: '/price', message: 'unknown field' }])
    })

    it('when a user checks out and completes in the sandbox, the subscription is active, once however often it is completed', async () => {
      const user = h.auth.token()
      const before = await h.request('GET', '/payments/subscription', { token: user.token })
      assert.deepEqual(before.body, { status: 'none', plan: null, current_period_end: null, trial_end: null, active: false, subscription_id: null })

      const checkout = await h.request('POST', '/payments/checkout', { token: user.token, json: { plan: 'pro-monthly' } })
      assert.equal(checkout.status, 201)
      assert.match(checkout.body.checkout_session_id, /^cs_sandbox_[0-9a-f]{32}$/)
      assert.equal(checkout.body.url, `https://localhost:8443/payments/sandbox/checkout/${checkout.body.checkout_session_id}`)
      const path = `/payments/sandbox/checkout/${checkout.body.checkout_session_id}/complete`

      const someoneElse = await h.request('POST', path, { token: h.auth.token().token, json: {} })
      const first = await h.request('POST', path, { token: user.token, json: {} })
      const again = await h.request('POST', path, { token: user.token })

      assert.deepEqual([someoneElse.status, someoneElse.body.code], [404, 'checkout_session_not_found'])
      assert.equal(first.status, 200)
      assert.deepEqual(again.body, first.body)
      assert.equal(first.body.status, 'active')
      assert.equal(first.body.plan, 'pro-monthly')
      assert.equal(first.body.active, true)
      const periodEnd = new Date(first.body.current_period_end).getTime()
      assert.ok(periodEnd > Date.now() + 27 * 86_400_000 && periodEnd < Date.now() + 32 * 86_400_000)
      const subscriptionId = first.body.subscription_id as string
      const [activated] = await h.waitForEvents('payments.subscription.activated', 1, subscriptionId)
      assert.equal(activated!.data.user_id, user.sub)
      await h.waitForEvents('payments.checkout.completed', 1, subscriptionId)
      await h.waitForEvents('payments.webhook.processed', 1)
      assert.equal(h.eventsOf('payments.subscription.activated', subscriptionId).length, 1)
      assert.equal(h.published.filter((e) => e.type === 'payments.webhook.processed' && e.data.subscription_id === subscriptionId).length, 1)
      const status = await h.request('GET', `/payments/sandbox/checkout/${checkout.body.checkout_session_id}`, { token: user.token })
      assert.equal(status.body.status, 'completed')
      const current = await h.request('GET', '/payments/subscription', { token: user.token })
      assert.deepEqual(current.body, { status: 'active', plan: 'pro-monthly', current_period_end: first.body.current_period_end, trial_end: null, active: true, subscription_id: subscriptionId })

      const second = await h.request('POST', '/payments/checkout', { token: user.token, json: { plan: 'team-monthly' } })
      assert.deepEqual([second.status, second.body.code], [409, 'subscription_exists'])
    })

    it('when the plan has trial days, the subscription starts trialing with its trial end', async () => {
      const user = h.auth.token()
      const checkout = await h.request('POST', '/payments/checkout', { token: user.token, json: { plan: 'pro-yearly' } })

      const done = await h.request('POST', `/payments/sandbox/checkout/${checkout.body.checkout_session_id}/complete`, { token: user.token, json: {} })

      assert.equal(done.body.status, 'trialing')
      assert.equal(done.body.active, true)
      const trialEnd = new Date(done.body.trial_end).getTime()
      assert.ok(Math.abs(trialEnd - (Date.now() + 14 * 86_400_000)) < 60_000)
      assert.equal(done.body.current_period_end, done.body.trial_end)
    })

    it('an unknown or malformed session id answers 404 checkout_session_not_found', async () => {
      const { token } = h.auth.token()
      const unknown = await h.request('POST', '/payments/sandbox/checkout/cs_sandbox_0123/complete', { token, json: {} })
      const malformed = await h.request('POST', '/payments/sandbox/checkout/..%2f/complete', { token, json: {} })

      assert.deepEqual([unknown.status, unknown.body.code, malformed.status, malformed.body.code], [404, 'checkout_session_not_found', 404, 'checkout_session_not_found'])
    })
  })
}

describe('checkout with the Stripe provider', () => {
  it('opens a Stripe Checkout session with the user as client_reference_id and the plan in metadata; the sandbox route is gone', async (t) => {
    const received: { path: string; auth: string; idempotency: string; form: URLSearchParams }[] = []
    const fakeStripe = createServer((req, res) => {
      let body = ''
      req.on('data', (chunk: Buffer) => (body += chunk.toString()))
      req.on('end', () => {
        received.push({ path: req.url ?? '', auth: req.headers.authorization ?? '', idempotency: String(req.headers['idempotency-key'] ?? ''), form: new URLSearchParams(body) })
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 'cs_test_a1b2c3', object: 'checkout.session', url: 'https://checkout.stripe.com/c/pay/cs_test_a1b2c3' }))
      })
    })
    fakeStripe.listen(0, '127.0.0.1')
    await new Promise<void>((resolve) => fakeStripe.once('listening', resolve))
    t.after(() => new Promise<void>((resolve) => fakeStripe.close(() => resolve())))
    const h = await openHarness({ name: 'PGlite', skip: false }, { STRIPE_SECRET_KEY: 'sk_test_fake0123456789' }, { stripeApi: { host: '127.0.0.1', port: (fakeStripe.address() as AddressInfo).port, protocol: 'http' } })
    t.after(() => h.close())
    const user = h.auth.token(randomUUID())

    const res = await h.request('POST', '/payments/checkout', { token: user.token, json: { plan: 'pro-yearly' } })
    const sandbox = await h.request('POST', '/payments/sandbox/checkout/cs_test_a1b2c3/complete', { token: user.token, json: {} })

    assert.equal(res.status, 201)
    assert.deepEqual(res.body, { checkout_session_id: 'cs_test_a1b2c3', url: 'https://checkout.stripe.com/c/pay/cs_test_a1b2c3' })
    assert.equal(received.length, 1)
    const call = received[0]!
    assert.equal(call.path, '/v1/checkout/sessions')
    assert.equal(call.auth, 'Bearer sk_test_fake0123456789')
    assert.ok(call.idempotency.length > 0)
    assert.equal(call.form.get('mode'), 'subscription')
    assert.equal(call.form.get('client_reference_id'), user.sub)
    assert.equal(call.form.get('metadata[plan]'), 'pro-yearly')
    assert.equal(call.form.get('subscription_data[metadata][user_id]'), user.sub)
    assert.equal(call.form.get('subscription_data[trial_period_days]'), '14')
    assert.equal(call.form.get('line_items[0][price_data][unit_amount]'), '12000')
    assert.equal(call.form.get('line_items[0][price_data][recurring][interval]'), 'year')
    assert.equal(sandbox.status, 404)
  })
})

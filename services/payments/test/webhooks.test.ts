import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { infraUrl, waitUntil } from '@platform/testkit/infra'
import { findWebhookEvent } from '../src/store/webhook-events.ts'
import { findSubscription } from '../src/store/subscriptions.ts'
import { checkoutCompleted, invoiceEvent, nowS, openHarness, stripeEvent, stripeId, subscriptionEvent, type Harness, type Setup } from './harness.ts'

const databaseUrl = infraUrl('DATABASE_URL')
const setups: Setup[] = [
  { name: 'PGlite', skip: false },
  { name: 'PostgreSQL', databaseUrl, skip: !databaseUrl },
]

for (const setup of setups) {
  describe(`POST /payments/webhooks/stripe (${setup.name})`, { skip: setup.skip }, () => {
    let h: Harness
    before(async () => {
      h = await openHarness(setup)
    })
    after(() => h?.close())

    const newCustomer = () => ({ userId: randomUUID(), subscription: stripeId('sub'), customer: stripeId('cus') })

    it('when a correctly signed checkout.session.completed arrives, answers 200, activates the subscription and emits its events', async () => {
      const c = newCustomer()
      const event = checkoutCompleted({ ...c, plan: 'pro-monthly' })

      const res = await h.webhook(event)

      assert.equal(res.status, 200)
      assert.deepEqual(res.body, { received: true })
      const stored = await findSubscription(h.payments.deps.db, c.subscription)
      assert.equal(stored?.status, 'active')
      assert.equal(stored?.userId, c.userId)
      assert.equal((await findWebhookEvent(h.payments.deps.db, event.id))?.outcome, 'applied')
      const [activated] = await h.waitForEvents('payments.subscription.activated', 1, c.subscription)
      assert.deepEqual(
        { ...activated!.data, current_period_end: typeof activated!.data.current_period_end },
        {
          subscription_id: c.subscription, user_id: c.userId, plan: 'pro-monthly', product: 'editor-pro', max_machines: 3, interval: 'month', amount: 1200, currency: 'usd',
          status: 'active', previous_status: 'none', active: true, current_period_end: 'string', trial_end: null, version: 1, provider_event_id: event.id, provider_event_type: 'checkout.session.completed',
        },
      )
      const [completed] = await h.waitForEvents('payments.checkout.completed', 1, c.subscription)
      assert.equal(completed!.data.user_id, c.userId)
      assert.equal(completed!.actor_id, c.userId)
      // Nothing in any event looks like card data or a secret.
      assert.doesNotMatch(JSON.stringify(h.published), /whsec_|sk_|card|customer_details/)
      const me = await h.request('GET', '/payments/subscription', { token: h.auth.token(c.userId).token })
      assert.equal(me.body.status, 'active')
      assert.equal(me.body.active, true)
    })

    it('when the body, the secret or the timestamp is wrong, answers the same 400 invalid_signature and changes nothing', async () => {
      const c = newCustomer()
      const event = checkoutCompleted({ ...c, plan: 'pro-monthly' })
      const attempts = {
        tampered: await h.webhook(event, { tamper: (body) => body.replace('pro-monthly', 'team-monthly') }),
        wrongSecret: await h.webhook(event, { secret: 'whsec_not_the_endpoint_secret_0123456789' }),
        stale: await h.webhook(event, { timestamp: nowS() - 400 }),
        // Well past 300 s either way: on a busy machine a request is handled seconds after it was signed.
        future: await h.webhook(event, { timestamp: nowS() + 400 }),
        noHeader: await h.webhook(event, { header: null }),
        garbageHeader: await h.webhook(event, { header: 't=abc,v1=00' }),
      }

      for (const [name, res] of Object.entries(attempts)) {
        assert.equal(res.status, 400, name)
        assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/, name)
        assert.deepEqual({ ...res.body, request_id: '' }, { type: 'https://docs.security-platform.dev/problems/invalid_signature', title: 'Invalid signature', status: 400, detail: 'The webhook could not be verified', code: 'invalid_signature', request_id: '' }, name)
      }
      assert.equal(await findWebhookEvent(h.payments.deps.db, event.id), undefined)
      assert.equal(await findSubscription(h.payments.deps.db, c.subscription), undefined)
      const rejected = await h.waitForEvents('payments.webhook.rejected', 6)
      assert.deepEqual(new Set(rejected.map((e) => e.data.reason)), new Set(['bad_signature', 'timestamp_out_of_tolerance', 'missing_signature']))
      assert.ok(rejected.every((e) => e.outcome === 'denied' && Object.keys(e.data).sort().join() === 'provider,reason'))
    })

    it('when the timestamp is within 300 s either way, accepts it', async () => {
      const early = await h.webhook(stripeEvent('customer.created', { id: stripeId('cus') }), { timestamp: nowS() + 250 })
      const late = await h.webhook(stripeEvent('customer.created', { id: stripeId('cus') }), { timestamp: nowS() - 250 })

      assert.equal(early.status, 200)
      assert.equal(late.status, 200)
    })

    it('when the same event is delivered twice, and twice at once, it takes effect once', async () => {
      const c = newCustomer()
      const event = checkoutCompleted({ ...c, plan: 'pro-monthly' })
      const c2 = newCustomer()
      const event2 = checkoutCompleted({ ...c2, plan: 'pro-monthly' })

      const first = await h.webhook(event)
      const again = await h.webhook(event)
      const together = await Promise.all([h.webhook(event2), h.webhook(event2), h.webhook(event2)])

      assert.deepEqual([first.status, again.status, ...together.map((r) => r.status)], [200, 200, 200, 200, 200])
      await h.waitForEvents('payments.subscription.activated', 1, c2.subscription)
      await h.waitForEvents('payments.webhook.processed', 2)
      const processed = h.eventsOf('payments.webhook.processed').filter((e) => e.data.provider_event_id === event.id || e.data.provider_event_id === event2.id)
      assert.equal(processed.length, 2)
      assert.equal(h.eventsOf('payments.subscription.activated', c.subscription).length, 1)
      assert.equal(h.eventsOf('payments.subscription.activated', c2.subscription).length, 1)
      assert.equal(h.eventsOf('payments.checkout.completed', c2.subscription).length, 1)
      const metrics = await h.request('GET', '/metrics')
      assert.match(metrics.text, /payments_webhooks_total\{outcome="duplicate",service="payments"\} [3-9]/)
    })

    it('when an update overtakes the checkout, and an older update comes after a newer one, the newest state wins', async () => {
      const c = newCustomer()
      const t = nowS()
      // Stripe's order of creation: checkout (t), past_due (t+10), active again (t+20).
      const checkout = checkoutCompleted({ ...c, plan: 'pro-monthly', created: t })
      const pastDue = subscriptionEvent('updated', { id: c.subscription, customer: c.customer, status: 'past_due', created: t + 10 })
      const activeAgain = subscriptionEvent('updated', { id: c.subscription, customer: c.customer, status: 'active', periodEnd: t + 40 * 86400, created: t + 20 })

      // Delivered: active again, then the checkout, then the older past_due.
      assert.equal((await h.webhook(activeAgain)).status, 200)
      assert.equal((await findSubscription(h.payments.deps.db, c.subscription))?.userId, null)
      assert.equal((await h.webhook(checkout)).status, 200)
      assert.equal((await h.webhook(pastDue)).status, 200)

      const stored = await findSubscription(h.payments.deps.db, c.subscription)
      assert.equal(stored?.status, 'active')
      assert.equal(stored?.userId, c.userId)
      assert.equal(stored?.currentPeriodEnd?.getTime(), (t + 40 * 86400) * 1000)
      assert.equal((await findWebhookEvent(h.payments.deps.db, activeAgain.id))?.outcome, 'unattributed')
      assert.equal((await findWebhookEvent(h.payments.deps.db, pastDue.id))?.outcome, 'stale')
      await h.waitForEvents('payments.subscription.activated', 1, c.subscription)
      await h.waitForEvents('payments.webhook.processed', 3)
      assert.equal(h.eventsOf('payments.subscription.updated', c.subscription).length, 0)
    })

    it('when a subscription event carries only metadata.user_id (unknown customer), it is tied to that user', async () => {
      const c = newCustomer()
      const res = await h.webhook(subscriptionEvent('created', { id: c.subscription, customer: c.customer, status: 'trialing', trialEnd: nowS() + 14 * 86400, metadata: { user_id: c.userId, plan: 'pro-yearly' } }))

      assert.equal(res.status, 200)
      const [activated] = await h.waitForEvents('payments.subscription.activated', 1, c.subscription)
      assert.equal(activated!.data.status, 'trialing')
      assert.equal(activated!.data.plan, 'pro-yearly')
      assert.equal(typeof activated!.data.trial_end, 'string')
    })

    it('walks the lifecycle: payment failed → past_due, paid → active, deleted → canceled, paid again → active', async () => {
      const c = newCustomer()
      const t = nowS()
      await h.webhook(checkoutCompleted({ ...c, plan: 'team-monthly', created: t }))
      const steps: [unknown, string, string][] = [
        [invoiceEvent('payment_failed', { subscription: c.subscription, customer: c.customer, created: t + 1 }), 'past_due', 'payments.subscription.updated'],
        [invoiceEvent('paid', { subscription: c.subscription, customer: c.customer, created: t + 2 }), 'active', 'payments.subscription.updated'],
        [subscriptionEvent('deleted', { id: c.subscription, customer: c.customer, status: 'canceled', created: t + 3 }), 'canceled', 'payments.subscription.canceled'],
        [invoiceEvent('paid', { subscription: c.subscription, customer: c.customer, created: t + 4 }), 'active', 'payments.subscription.activated'],
      ]
      const announced = () => h.published.filter((e) => e.type.startsWith('payments.subscription.') && e.data.subscription_id === c.subscription)
      for (const [i, [event, status, type]] of steps.entries()) {
        assert.equal((await h.webhook(event)).status, 200)
        assert.equal((await findSubscription(h.payments.deps.db, c.subscription))?.status, status)
        await waitUntil(() => announced().length === i + 2, { what: `announcement ${i + 2}` })
        assert.deepEqual([announced().at(-1)!.type, announced().at(-1)!.data.status], [type, status])
      }
      assert.deepEqual(announced().map((e) => e.data.version), [1, 2, 3, 4, 5])
    })

    it('when the event type is unknown or has unknown fields, answers 200 and records it as ignored', async () => {
      const event = { ...stripeEvent('charge.refund.updated', { id: stripeId('re'), brand_new_field: { nested: true } }), another_new_top_level_field: 1 }

      const res = await h.webhook(event)

      assert.equal(res.status, 200)
      assert.equal((await findWebhookEvent(h.payments.deps.db, event.id))?.outcome, 'ignored')
    })

    it('when a signed body is not a Stripe event, answers 400 like any other failure', async () => {
      const res = await h.webhook({ hello: 'world' })

      assert.equal(res.status, 400)
      assert.equal(res.body.code, 'invalid_signature')
    })
  })
}

describe('POST /payments/webhooks/stripe without STRIPE_WEBHOOK_SECRET', () => {
  it('refuses every webhook with 400', async (t) => {
    const h = await openHarness({ name: 'PGlite', skip: false }, { STRIPE_WEBHOOK_SECRET: '' })
    t.after(() => h.close())

    const res = await h.webhook(stripeEvent('customer.created', { id: stripeId('cus') }))

    assert.equal(res.status, 400)
    assert.equal(res.body.code, 'invalid_signature')
  })
})

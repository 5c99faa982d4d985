import assert from 'node:assert/strict'
import { randomBytes, randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import Stripe from 'stripe'
import type { JsonResponse, TestClient } from '@platform/testkit'
import { assertProblemsMatchCatalogue } from '@platform/platform/openapi-testing'
import { assertDocumented, operationsOf, type Operation } from '../src/openapi-fixtures.ts'
import { RELAXED_RATE_LIMITS } from '../src/http-fixtures.ts'
import { registerAndLogin, startStack, type Stack } from '../src/stack.ts'

// The payments API document, fetched through the gateway, is held to what the service does: every
// documented operation is called, successfully and in the ways it can fail, and every answer must
// be a documented status with a documented code (as licenses-openapi.test.ts does for licenses).

const WEBHOOK_SECRET = `whsec_${randomBytes(24).toString('base64url')}`

/* eslint-disable @typescript-eslint/no-explicit-any -- the document is arbitrary JSON */

const nowS = () => Math.floor(Date.now() / 1000)

describe('GET /payments/openapi.json', () => {
  let stack: Stack
  let client: TestClient
  let doc: any
  before(async () => {
    stack = await startStack({ RATE_LIMITS: RELAXED_RATE_LIMITS, STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET })
    client = stack.client
  })
  after(() => stack?.stop())

  function call(op: Operation, opts: { token?: string; ids?: string; json?: unknown; body?: string; headers?: Record<string, string> }) {
    const path = op.path.replace(/\{\w+\}/g, () => opts.ids ?? randomUUID())
    if (op.method === 'GET') opts = { ...opts, json: undefined, body: undefined }
    const headers: Record<string, string> = { ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers }
    return client.request(op.method, path, { token: opts.token, json: opts.json, body: opts.body, headers })
  }

  /** A Stripe event signed with the stack's endpoint secret, as Stripe would post it. */
  function signedWebhook(type: string, object: Record<string, unknown>) {
    const payload = JSON.stringify({ id: `evt_e2e${randomBytes(8).toString('hex')}`, object: 'event', api_version: '2025-09-30.clover', created: nowS(), livemode: false, type, data: { object } })
    const signature = Stripe.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET })
    return { payload, headers: { 'content-type': 'application/json', 'stripe-signature': signature } }
  }

  it('is served through the gateway as OpenAPI 3.1 with every payments route, its bodies, answers and problem codes', async () => {
    const res = await client.request('GET', '/payments/openapi.json')
    assert.equal(res.status, 200, res.text)
    doc = res.body
    assert.equal(doc.openapi, '3.1.0')
    assert.equal(doc.servers[0].url, 'https://localhost:8443')
    const routes = operationsOf(doc).map((op) => `${op.method} ${op.path}`)
    for (const route of [
      'GET /payments/plans', 'GET /payments/openapi.json', 'POST /payments/checkout', 'GET /payments/subscription',
      'GET /payments/sandbox/checkout/{id}', 'POST /payments/sandbox/checkout/{id}/complete', 'POST /payments/webhooks/stripe',
    ]) assert.ok(routes.includes(route), `${route} documented`)
    const checkout = doc.paths['/payments/checkout'].post
    assert.deepEqual(checkout.requestBody.content['application/json'].schema.required, ['plan'])
    assert.equal(checkout.requestBody.content['application/json'].schema.additionalProperties, false)
    assert.deepEqual(checkout.responses['409'].content['application/problem+json'].schema.allOf[1].properties.code.enum, ['subscription_exists'])
    const webhook = doc.paths['/payments/webhooks/stripe'].post
    assert.deepEqual(webhook.security, [])
    assert.ok(webhook.parameters.some((p: any) => p.name === 'Stripe-Signature' && p.in === 'header' && p.required === true))
    assert.deepEqual(webhook.responses['400'].content['application/problem+json'].schema.allOf[1].properties.code.enum, ['invalid_signature'])
    assertProblemsMatchCatalogue(doc)
  })

  it('when each documented operation is called wrongly (no token, bad bodies, bad ids, no or a bad signature), every answer is documented', async () => {
    const user = await registerAndLogin(client)
    const stale = signedWebhook('invoice.paid', { id: 'in_e2e', object: 'invoice' })
    for (const op of operationsOf(doc)) {
      const probes: [string, { token?: string; ids?: string; json?: unknown; body?: string; headers?: Record<string, string> }][] = [
        ['anonymous, empty object', { json: op.requestBody ? {} : undefined }],
        ['anonymous, malformed JSON', { body: '{"plan": ' }],
        ['user, empty object', { token: user.accessToken, json: op.requestBody ? {} : undefined }],
        ['user, unknown field', { token: user.accessToken, json: { unexpected: true } }],
        ['user, unknown plan', { token: user.accessToken, json: { plan: 'no-such-plan' } }],
        ['user, not a session id', { token: user.accessToken, ids: 'not-a-session', json: {} }],
        ['user, an unknown session id', { token: user.accessToken, ids: `cs_sandbox_${randomBytes(8).toString('hex')}`, json: {} }],
        ['a forged token', { token: 'eyJhbGciOiJFUzI1NiJ9.e30.AAAA', json: op.requestBody ? {} : undefined }],
        ['a signature under another secret', { body: stale.payload, headers: { 'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload: stale.payload, secret: 'whsec_not_the_endpoint_secret_0123456789' }) } }],
        ['a tampered signed body', { body: stale.payload.replace('in_e2e', 'in_e2f'), headers: stale.headers }],
      ]
      for (const [what, opts] of op.method === 'GET' ? probes.filter(([w]) => !/malformed|signature|signed/.test(w)) : probes) {
        assertDocumented(op, await call(op, opts), what)
      }
    }
  })

  it('when each documented operation is called as documented, it answers its documented success', async () => {
    const user = await registerAndLogin(client)
    const open = async (token: string) => {
      const res = await client.request('POST', '/payments/checkout', { token, json: { plan: 'pro-monthly' } })
      assert.equal(res.status, 201, res.text)
      return res
    }
    const examples: Record<string, () => Promise<JsonResponse[]>> = {
      plans: async () => [await client.request('GET', '/payments/plans')],
      openApi: async () => [await client.request('GET', '/payments/openapi.json')],
      checkout: async () => [await open((await registerAndLogin(client)).accessToken)],
      subscription: async () => [await client.request('GET', '/payments/subscription', { token: user.accessToken })],
      sandboxCheckout: async () => {
        const opened = await open(user.accessToken)
        return [await client.request('GET', `/payments/sandbox/checkout/${opened.body.checkout_session_id}`, { token: user.accessToken })]
      },
      sandboxComplete: async () => {
        const buyer = await registerAndLogin(client)
        const opened = await open(buyer.accessToken)
        const path = `/payments/sandbox/checkout/${opened.body.checkout_session_id}/complete`
        return [await client.request('POST', path, { token: buyer.accessToken, json: {} }), await client.request('POST', path, { token: buyer.accessToken })]
      },
      stripeWebhook: async () => {
        const tag = randomBytes(8).toString('hex')
        const completed = signedWebhook('checkout.session.completed', {
          id: `cs_e2e${tag}`, object: 'checkout.session', mode: 'subscription', client_reference_id: randomUUID(), metadata: { plan: 'pro-monthly' }, customer: `cus_e2e${tag}`, subscription: `sub_e2e${tag}`,
        })
        const ignored = signedWebhook('customer.created', { id: `cus_e2e${tag}x`, object: 'customer' })
        const post = (w: { payload: string; headers: Record<string, string> }) => client.request('POST', '/payments/webhooks/stripe', { body: w.payload, headers: w.headers })
        return [await post(completed), await post(completed), await post(ignored)]
      },
    }
    const operations = operationsOf(doc)
    assert.deepEqual(operations.map((op) => op.operationId).sort(), Object.keys(examples).sort(), 'an example for every documented operation')
    for (const id of Object.keys(examples)) {
      const op = operations.find((o) => o.operationId === id)!
      for (const res of await examples[id]!()) {
        assert.ok(res.status < 300, `${id}: ${res.status} ${res.text}`)
        assertDocumented(op, res, 'valid call')
      }
    }
  })
})

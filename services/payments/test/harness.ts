import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes, randomUUID } from 'node:crypto'
import Stripe from 'stripe'
import { createMemoryBus, type EventEnvelope, type InspectableBus } from '@platform/bus'
import { openDatabase, type Database } from '@platform/db'
import { dropDatabase, uniqueDatabaseUrl } from '@platform/db/testing'
import { createMemoryKv, type Kv } from '@platform/kv'
import { waitUntil } from '@platform/testkit/infra'
import { generateSigningKey, revocationKeys, signAccessToken, toJwks } from '@platform/tokens'
import { startPayments, type RunningPayments } from '../src/start.ts'
import type { StripeApi } from '../src/providers/stripe-provider.ts'
import { paymentsMigrations } from '../src/store/migrations/index.ts'
import type { PaymentsDatabase } from '../src/store/schema.ts'

const ISSUER = 'https://localhost:8443'
const AUDIENCE = 'platform'
export const WEBHOOK_SECRET = `whsec_${randomBytes(24).toString('base64url')}`

/** A stand-in for auth: publishes a JWKS and signs access tokens with the matching key. */
export type FakeAuth = { url: string; token(sub?: string): { token: string; sub: string }; close(): Promise<void> }

export async function startFakeAuth(): Promise<FakeAuth> {
  const key = generateSigningKey()
  const server = createServer((req, res) => {
    if (req.url !== '/.well-known/jwks.json') return void res.writeHead(404).end()
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(toJwks([key])))
  })
  server.listen(0, '127.0.0.1')
  await new Promise<void>((resolve) => server.once('listening', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    token(sub = randomUUID()) {
      const { token } = signAccessToken({ key, issuer: ISSUER, audience: AUDIENCE, ttlSeconds: 300, subject: sub, sessionId: randomUUID(), roles: ['user'], emailVerified: true })
      return { token, sub }
    },
  }
}

/** Which database a suite runs on. */
export type Setup = { name: string; databaseUrl?: string | undefined; skip: boolean }

/** An open, migrated payments database: in-memory PGlite, or a fresh PostgreSQL database. */
export async function openTestDatabase(setup: Setup): Promise<{ database: Database<PaymentsDatabase>; close(): Promise<void> }> {
  const url = setup.databaseUrl ? uniqueDatabaseUrl(setup.databaseUrl, 'payments_test') : undefined
  const database = await openDatabase<PaymentsDatabase>({ service: 'payments', url, migrations: paymentsMigrations })
  return {
    database,
    async close() {
      await database.close()
      if (url) await dropDatabase(url)
    },
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON answers field by field
export type Answer = { status: number; body: any; text: string; headers: Headers }

export type Harness = {
  payments: RunningPayments
  auth: FakeAuth
  bus: InspectableBus
  /** Every payments event published so far, in publish order. */
  published: EventEnvelope[]
  request(method: string, path: string, opts?: { token?: string; json?: unknown; body?: string; headers?: Record<string, string> }): Promise<Answer>
  /** Posts `event` to the webhook route, signed with `secret` at `timestamp` (Unix seconds). */
  webhook(event: unknown, opts?: { secret?: string; timestamp?: number; tamper?: (body: string) => string; header?: string | null }): Promise<Answer>
  /** Waits until the relay published `n` events of `type` (about `subscriptionId` when given). */
  eventsOf(type: string, subscriptionId?: string): EventEnvelope[]
  waitForEvents(type: string, n: number, subscriptionId?: string): Promise<EventEnvelope[]>
  close(): Promise<void>
}

/** One payments service on `setup`'s database, an in-process bus and a fake auth. */
export async function openHarness(setup: Setup, env: NodeJS.ProcessEnv = {}, opts: { stripeApi?: StripeApi } = {}): Promise<Harness> {
  const auth = await startFakeAuth()
  const kv: Kv = createMemoryKv()
  await kv.set(revocationKeys.ready(), '1')
  const bus = createMemoryBus()
  const published: EventEnvelope[] = []
  const subscription = await bus.subscribe('test.payments', ['payments.#'], async (event) => {
    published.push(event)
  })
  const dataDir = await mkdtemp(join(tmpdir(), 'payments-test-'))
  const db = await openTestDatabase(setup)
  const payments = await startPayments({
    env: { DATA_DIR: dataDir, PAYMENTS_PORT: '0', AUTH_URL: auth.url, LOG_LEVEL: 'silent', STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET, ...env },
    kv,
    bus,
    database: db.database,
    ...(opts.stripeApi ? { stripeApi: opts.stripeApi } : {}),
  })
  const base = payments.url
  const request: Harness['request'] = async (method, path, o = {}) => {
    const headers: Record<string, string> = { ...o.headers }
    if (o.token) headers.authorization = `Bearer ${o.token}`
    let body = o.body
    if (o.json !== undefined) {
      headers['content-type'] = 'application/json'
      body = JSON.stringify(o.json)
    }
    const res = await fetch(`${base}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) })
    const text = await res.text()
    let parsed: unknown
    try {
      parsed = text ? JSON.parse(text) : undefined
    } catch {
      parsed = undefined
    }
    return { status: res.status, body: parsed, text, headers: res.headers }
  }
  const eventsOf = (type: string, subscriptionId?: string) =>
    published.filter((e) => e.type === type && (subscriptionId === undefined || e.data.subscription_id === subscriptionId))
  return {
    payments,
    auth,
    bus,
    published,
    request,
    async webhook(event, o = {}) {
      const payload = JSON.stringify(event, null, 2)
      const header =
        o.header === undefined
          ? Stripe.webhooks.generateTestHeaderString({ payload, secret: o.secret ?? WEBHOOK_SECRET, ...(o.timestamp !== undefined ? { timestamp: o.timestamp } : {}) })
          : o.header
      const body = o.tamper ? o.tamper(payload) : payload
      return request('POST', '/payments/webhooks/stripe', { body, headers: { 'content-type': 'application/json; charset=utf-8', ...(header === null ? {} : { 'stripe-signature': header }) } })
    },
    eventsOf,
    async waitForEvents(type, n, subscriptionId) {
      await waitUntil(() => eventsOf(type, subscriptionId).length >= n, { what: `${n} × ${type}` })
      return eventsOf(type, subscriptionId)
    },
    async close() {
      await payments.stop()
      await subscription.close()
      await bus.close()
      await db.close()
      await kv.close()
      await auth.close()
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}

let counter = 0
/** A provider id in Stripe's style, unique in this run. */
export const stripeId = (prefix: string) => `${prefix}_test${randomBytes(8).toString('hex')}${(counter++).toString(36)}`
export const nowS = () => Math.floor(Date.now() / 1000)

/** A Stripe event wrapping `object`, with the extra fields Stripe sends (none of which we require). */
export function stripeEvent(type: string, object: Record<string, unknown>, created = nowS()) {
  return { id: stripeId('evt'), object: 'event', api_version: '2025-09-30.clover', created, livemode: false, pending_webhooks: 1, request: { id: null, idempotency_key: null }, type, data: { object } }
}

export function checkoutCompleted(o: { userId: string; plan: string; subscription: string; customer: string; created?: number }) {
  return stripeEvent(
    'checkout.session.completed',
    { id: stripeId('cs'), object: 'checkout.session', mode: 'subscription', client_reference_id: o.userId, metadata: { plan: o.plan }, customer: o.customer, subscription: o.subscription, amount_total: 1200, currency: 'usd', payment_status: 'paid', customer_details: { email: 'x@example.com' } },
    o.created,
  )
}

export function subscriptionEvent(type: 'created' | 'updated' | 'deleted', o: { id: string; customer: string; status: string; periodEnd?: number; trialEnd?: number | null; created?: number; metadata?: Record<string, string> }) {
  return stripeEvent(
    `customer.subscription.${type}`,
    {
      id: o.id,
      object: 'subscription',
      customer: o.customer,
      status: o.status,
      metadata: o.metadata ?? {},
      trial_end: o.trialEnd ?? null,
      items: { object: 'list', data: [{ id: stripeId('si'), current_period_end: o.periodEnd ?? nowS() + 30 * 86400, price: { id: stripeId('price') } }] },
    },
    o.created,
  )
}

export function invoiceEvent(type: 'paid' | 'payment_failed', o: { subscription: string; customer: string; amountPaid?: number; periodEnd?: number; created?: number }) {
  return stripeEvent(
    `invoice.${type}`,
    {
      id: stripeId('in'),
      object: 'invoice',
      customer: o.customer,
      amount_paid: o.amountPaid ?? 1200,
      parent: { type: 'subscription_details', subscription_details: { subscription: o.subscription } },
      lines: { data: [{ period: { start: nowS(), end: o.periodEnd ?? nowS() + 30 * 86400 } }] },
    },
    o.created,
  )
}

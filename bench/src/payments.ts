// The payments figure of `npm run bench` (issue 6): verified Stripe webhooks processed per second
// end to end — signature check, the event id recorded, the subscription's state changed and its
// events written to the outbox, one transaction — against raw single-row PostgreSQL transactions
// (bench/src/raw-postgres.ts) measured in the same run on the same server at the same concurrency.
// Three rows: in process (the webhook route's own function, `receiveStripeWebhook`, called with
// the raw bytes and headers, as the refresh figure calls its handler's rotation), over HTTP (the
// service alone in its own process, as deployed), and the webhook's database work alone (the
// store's two statements, as the service sends them, with nothing else: the share PostgreSQL and
// the driver take). Each webhook is a new checkout.session.completed, so each one changes state
// and emits its events.
// Uses DATABASE_URL when set (the figure that matters), else PGlite without a baseline.
// Standalone: `node --import tsx bench/src/payments.ts` (BENCH_SECONDS, default 8).
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes, randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import Stripe from 'stripe'
import { inTransaction, openDatabase } from '@platform/db'
import { dropDatabase, uniqueDatabaseUrl } from '@platform/db/testing'
import { startPayments } from '@platform/payments/start'
import { receiveStripeWebhook } from '../../services/payments/src/domain/receive-webhook.ts'
import { createEventWriter } from '../../services/payments/src/events/publish.ts'
import { paymentsMigrations } from '../../services/payments/src/store/migrations/index.ts'
import type { PaymentsDatabase } from '../../services/payments/src/store/schema.ts'
import { claimWebhookEvent, finishWebhookEvent } from '../../services/payments/src/store/webhook-events.ts'
import { startProcess } from './processes.ts'
import { measureRawTxRate, ratePerSecond } from './raw-postgres.ts'

export type PaymentsBenchRow = { figure: string; value: string; baseline: string; ratio: number | null; target: string }

const CONCURRENCY = 8
const TARGET = '≥ 0.4'

/** A signed, never-seen checkout.session.completed for a new user and subscription. */
function signedCheckoutWebhook(secret: string): { payload: string; signature: string } {
  const now = Math.floor(Date.now() / 1000)
  const tag = randomBytes(10).toString('hex')
  const payload = JSON.stringify({
    id: `evt_bench${tag}`,
    object: 'event',
    type: 'checkout.session.completed',
    created: now,
    data: { object: { id: `cs_bench${tag}`, object: 'checkout.session', mode: 'subscription', client_reference_id: randomUUID(), metadata: { plan: 'pro-monthly' }, customer: `cus_bench${tag}`, subscription: `sub_bench${tag}`, amount_total: 1200, currency: 'usd' } },
  })
  return { payload, signature: Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp: now }) }
}

/** Steps per second after a warm-up of up to 2 s, `CONCURRENCY` loops at once. */
async function webhooksPerSecond(seconds: number, send: () => Promise<void>): Promise<number> {
  const loops = Array.from({ length: CONCURRENCY }, () => undefined)
  const step = async () => {
    await send()
    return undefined
  }
  await ratePerSecond(Math.min(2, seconds), loops, step)
  return ratePerSecond(seconds, loops, step)
}

/** The service's environment for one measurement: its own scratch database (or PGlite), no broker, no Redis. */
function serviceEnv(dataDir: string, secret: string, databaseUrl: string | undefined, dbUrl: string | undefined): NodeJS.ProcessEnv {
  return {
    DATA_DIR: dataDir,
    PAYMENTS_PORT: '0',
    // No auth runs here: the JWKS warning at start would only be noise; errors still show.
    LOG_LEVEL: 'error',
    STRIPE_WEBHOOK_SECRET: secret,
    STRIPE_SECRET_KEY: '',
    AMQP_URL: '',
    REDIS_URL: '',
    ...(dbUrl ? { PAYMENTS_DATABASE_URL: dbUrl, DATABASE_URL: databaseUrl } : { DATABASE_URL: '' }),
  }
}

/** Over HTTP: the payments service in its own process, the load (and signing) from this one. */
async function measureOverHttp(seconds: number, databaseUrl: string | undefined): Promise<number> {
  const dataDir = await mkdtemp(join(tmpdir(), 'platform-bench-payments-'))
  const dbUrl = databaseUrl ? uniqueDatabaseUrl(databaseUrl, 'payments_bench') : undefined
  const secret = `whsec_${randomBytes(24).toString('base64url')}`
  const server = await startProcess('bench/src/payments-server.ts', serviceEnv(dataDir, secret, databaseUrl, dbUrl))
  const url = `http://127.0.0.1:${server.match[1]}/payments/webhooks/stripe`
  try {
    return await webhooksPerSecond(seconds, async () => {
      const { payload, signature } = signedCheckoutWebhook(secret)
      const res = await fetch(url, { method: 'POST', body: payload, headers: { 'content-type': 'application/json', 'stripe-signature': signature } })
      await res.arrayBuffer()
      if (res.status !== 200) throw new Error(`webhook answered ${res.status}`)
    })
  } finally {
    await server.stop()
    if (dbUrl) await dropDatabase(dbUrl).catch(() => undefined)
    await rm(dataDir, { recursive: true, force: true })
  }
}

/** In process: the function behind the webhook route, given the raw bytes and headers. */
async function measureInProcess(seconds: number, databaseUrl: string | undefined): Promise<number> {
  const dataDir = await mkdtemp(join(tmpdir(), 'platform-bench-payments-'))
  const dbUrl = databaseUrl ? uniqueDatabaseUrl(databaseUrl, 'payments_bench') : undefined
  const secret = `whsec_${randomBytes(24).toString('base64url')}`
  const payments = await startPayments({ env: serviceEnv(dataDir, secret, databaseUrl, dbUrl) })
  try {
    return await webhooksPerSecond(seconds, async () => {
      const { payload, signature } = signedCheckoutWebhook(secret)
      const { outcome } = await receiveStripeWebhook(payments.deps, { body: Buffer.from(payload), signature, userAgent: 'Stripe/1.0' }, secret)
      if (outcome !== 'applied') throw new Error(`webhook ${outcome}`)
    })
  } finally {
    await payments.stop()
    if (dbUrl) await dropDatabase(dbUrl).catch(() => undefined)
    await rm(dataDir, { recursive: true, force: true })
  }
}

/**
 * The database work of one webhook alone: the store's claim and finish statements in their
 * transaction, sent as the service sends them (BEGIN with the claim, COMMIT with the finish), with
 * none of the service's other work: no signature, parsing, decision, events made or relay. The
 * envelopes are made once and written under fresh ids. What the service can reach at most here.
 */
async function measureStatementsOnly(seconds: number, databaseUrl: string): Promise<number> {
  const dbUrl = uniqueDatabaseUrl(databaseUrl, 'payments_bench')
  const database = await openDatabase<PaymentsDatabase>({ service: 'payments', url: dbUrl, migrations: paymentsMigrations })
  const envelopes = createEventWriter().envelopes(
    (['payments.checkout.completed', 'payments.subscription.activated', 'payments.webhook.processed'] as const).map((type) => ({
      type,
      subject: { type: 'subscription', id: 'sub_bench0123456789abcdef' },
      outcome: 'success',
      actorId: randomUUID(),
      data: { subscription_id: 'sub_bench0123456789abcdef', user_id: randomUUID(), plan: 'pro-monthly', product: 'editor-pro', max_machines: 3, provider_event_id: 'evt_bench0123456789abcdef', status: 'active' },
    })),
  )
  try {
    return await webhooksPerSecond(seconds, async () => {
      const tag = randomBytes(10).toString('hex')
      const [eventId, subscriptionId, customerId, userId] = [`evt_bench${tag}`, `sub_bench${tag}`, `cus_bench${tag}`, randomUUID()]
      const now = new Date()
      const created = Math.floor(now.getTime() / 1000)
      await inTransaction(database.db, async (trx) => {
        const checkout = { sessionId: `cs_bench${tag}`, userId, plan: 'pro-monthly', provider: 'stripe' as const, url: '', customerId }
        await claimWebhookEvent(trx, { event: { id: eventId, type: 'checkout.session.completed', created, receivedAt: now }, subscriptionId, checkout }, now)
        const patch = { user_id: userId, plan: 'pro-monthly', customer_id: customerId, status: 'active' as const, trial_end: null, current_period_end: now, state_at: created, announced_status: 'active' as const, version: 1 }
        await finishWebhookEvent(trx, { eventId, outcome: 'applied', subscriptionId, patch, envelopes: envelopes.map((e) => ({ ...e, id: randomUUID() })) }, now)
      })
    })
  } finally {
    await database.close()
    await dropDatabase(dbUrl).catch(() => undefined)
  }
}

/** Webhooks/s in process, over HTTP and as bare statements, each against raw single-row tx/s measured here. */
export async function measurePayments(opts: { seconds: number; log: (msg: string) => void }): Promise<PaymentsBenchRow[]> {
  const databaseUrl = process.env.DATABASE_URL || undefined
  const where = databaseUrl ? 'PostgreSQL' : 'PGlite'
  opts.log(`payments: verified webhooks end to end (${where}), concurrency ${CONCURRENCY}, over HTTP`)
  const overHttp = await measureOverHttp(opts.seconds, databaseUrl)
  opts.log('payments: the same, in process')
  const inProcess = await measureInProcess(opts.seconds, databaseUrl)
  opts.log("payments: the webhook's statements alone")
  const statementsOnly = databaseUrl ? await measureStatementsOnly(opts.seconds, databaseUrl) : undefined
  opts.log('payments: raw single-row transactions')
  const txRate = databaseUrl ? await measureRawTxRate({ databaseUrl, seconds: opts.seconds, concurrency: CONCURRENCY }) : undefined
  const row = (figure: string, rate: number, target: string): PaymentsBenchRow => ({
    figure,
    value: rate.toFixed(0),
    baseline: txRate === undefined ? 'n/a (set DATABASE_URL)' : `${txRate.toFixed(0)} single-row tx/s`,
    ratio: txRate === undefined ? null : rate / txRate,
    target,
  })
  return [
    row(`verified webhooks/s end to end in process (signature, idempotency record, state change, outbox; concurrency ${CONCURRENCY})`, inProcess, TARGET),
    row(`verified webhooks/s end to end over HTTP (the same, plus HTTP to the service's own process; for information)`, overHttp, ''),
    ...(statementsOnly === undefined
      ? []
      : [row(`the same webhooks' database work alone: the store's two statements in their transaction, nothing else (the most the service can reach; for information)`, statementsOnly, '')]),
  ]
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const rows = await measurePayments({ seconds: Number(process.env.BENCH_SECONDS ?? 8), log: (msg) => process.stderr.write(`bench: ${msg}\n`) })
  for (const r of rows) process.stdout.write(`${r.figure}: ${r.value} (baseline ${r.baseline}; ratio ${r.ratio === null ? 'n/a' : r.ratio.toFixed(2)}; target ${r.target || 'none'})\n`)
}

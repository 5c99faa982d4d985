// The payments figure of `npm run bench` (issue 6): verified Stripe webhooks processed per second
// end to end — signature check, the event id recorded, the subscription's state changed and its
// events written to the outbox, one transaction — against raw single-row PostgreSQL transactions
// (bench/src/raw-postgres.ts) measured in the same run on the same server at the same concurrency.
// Two rows: over HTTP (the service alone in its own process, as deployed) and in process (the
// webhook route's own function, `receiveStripeWebhook`, called with the raw bytes and headers,
// as the refresh figure calls its handler's rotation). Each webhook is a new
// checkout.session.completed, so each one changes state and emits its events.
// Uses DATABASE_URL when set (the figure that matters), else PGlite without a baseline.
// Standalone: `node --import tsx bench/src/payments.ts` (BENCH_SECONDS, default 8).
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes, randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import Stripe from 'stripe'
import { dropDatabase, uniqueDatabaseUrl } from '@platform/db/testing'
import { startPayments } from '@platform/payments/start'
import { receiveStripeWebhook } from '../../services/payments/src/domain/receive-webhook.ts'
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

/** Webhooks/s over HTTP and in process, each against raw single-row tx/s measured here. */
export async function measurePayments(opts: { seconds: number; log: (msg: string) => void }): Promise<PaymentsBenchRow[]> {
  const databaseUrl = process.env.DATABASE_URL || undefined
  const where = databaseUrl ? 'PostgreSQL' : 'PGlite'
  opts.log(`payments: verified webhooks end to end (${where}), concurrency ${CONCURRENCY}, over HTTP`)
  const overHttp = await measureOverHttp(opts.seconds, databaseUrl)
  opts.log('payments: the same, in process')
  const inProcess = await measureInProcess(opts.seconds, databaseUrl)
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
  ]
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const rows = await measurePayments({ seconds: Number(process.env.BENCH_SECONDS ?? 8), log: (msg) => process.stderr.write(`bench: ${msg}\n`) })
  for (const r of rows) process.stdout.write(`${r.figure}: ${r.value} (baseline ${r.baseline}; ratio ${r.ratio === null ? 'n/a' : r.ratio.toFixed(2)}; target ${r.target || 'none'})\n`)
}

import type { AddressInfo } from 'node:net'
import { openBus, type Bus } from '@platform/bus'
import { createOutboxRelay } from '@platform/bus/outbox'
import { databaseUrlFor, openDatabase, type Database } from '@platform/db'
import { createMemoryKv, createRedisKv, type Kv } from '@platform/kv'
import { closeServer, createCounter, createLogger, createMetrics, type Logger } from '@platform/platform'
import { openAuthJwks } from '@platform/tokens'
import { requireBearer } from '@platform/tokens/express'
import { createPaymentsApp } from './app.ts'
import { loadPaymentsConfig, loadPlans, readOptionalSecret, type PaymentsConfig } from './config.ts'
import type { PaymentsDeps } from './domain/deps.ts'
import { createPlanCatalog } from './domain/plans.ts'
import { createEventWriter } from './events/publish.ts'
import type { PaymentProvider } from './providers/provider.ts'
import { createSandboxProvider } from './providers/sandbox-provider.ts'
import { createStripeProvider, type StripeApi } from './providers/stripe-provider.ts'
import { paymentsMigrations } from './store/migrations/index.ts'
import type { PaymentsDatabase } from './store/schema.ts'

export type RunningPayments = {
  url: string
  port: number
  config: PaymentsConfig
  deps: PaymentsDeps
  /** Lines for the banner: which provider, whether webhooks are verified. */
  notes: string[]
  stop(): Promise<void>
}

/**
 * Composition root of the payments service: config → plans, provider, database, bus → app →
 * listen. `kv` and `bus` let the launcher share its in-process store and broker; otherwise
 * REDIS_URL and AMQP_URL decide. `database` hands in an open, migrated database (tests; its caller
 * closes it); `stripeApi` points the Stripe provider at a local fake (tests).
 */
export async function startPayments(opts: {
  env: NodeJS.ProcessEnv
  kv?: Kv
  bus?: Bus
  log?: Logger
  database?: Database<PaymentsDatabase>
  stripeApi?: StripeApi
}): Promise<RunningPayments> {
  const config = loadPaymentsConfig(opts.env)
  const log = opts.log ?? createLogger('payments', { level: config.LOG_LEVEL })
  const plans = createPlanCatalog(await loadPlans(config))
  const secretKey = await readOptionalSecret(config.STRIPE_SECRET_KEY, config.STRIPE_SECRET_KEY_FILE, 'STRIPE_SECRET_KEY')
  const webhookSecret = await readOptionalSecret(config.STRIPE_WEBHOOK_SECRET, config.STRIPE_WEBHOOK_SECRET_FILE, 'STRIPE_WEBHOOK_SECRET')
  const provider: PaymentProvider = secretKey
    ? createStripeProvider({
        secretKey,
        successUrl: config.PAYMENTS_SUCCESS_URL ?? `${config.PUBLIC_URL}/billing/success?session_id={CHECKOUT_SESSION_ID}`,
        cancelUrl: config.PAYMENTS_CANCEL_URL ?? `${config.PUBLIC_URL}/billing/canceled`,
        log,
        ...(opts.stripeApi ? { api: opts.stripeApi } : {}),
      })
    : createSandboxProvider({ publicUrl: config.PUBLIC_URL })
  const notes = [
    secretKey ? 'payments use Stripe Checkout' : 'payments use the sandbox provider (no STRIPE_SECRET_KEY): POST /payments/sandbox/checkout/{id}/complete pays',
    ...(webhookSecret ? [] : ['Stripe webhooks are refused until STRIPE_WEBHOOK_SECRET is set']),
  ]

  const stack: (() => Promise<void>)[] = []
  const stopAll = async () => {
    for (const stop of stack.splice(0).reverse()) await stop()
  }
  try {
    const ownKv = opts.kv === undefined
    const kv = opts.kv ?? (config.REDIS_URL ? createRedisKv({ url: config.REDIS_URL, prefix: config.REDIS_PREFIX }) : createMemoryKv())
    if (ownKv) stack.push(() => kv.close())
    const metrics = createMetrics('payments')
    const { bus, owned } = openBus({ shared: opts.bus, url: config.AMQP_URL, prefix: config.AMQP_PREFIX, connectionName: `payments:${process.pid}`, log, metrics })
    if (owned) stack.push(() => bus.close())
    const database =
      opts.database ??
      (await openDatabase<PaymentsDatabase>({ service: 'payments', url: databaseUrlFor('payments', opts.env), dataDir: config.DATA_DIR, migrations: paymentsMigrations }))
    if (!opts.database) stack.push(() => database.close())

    const relay = createOutboxRelay({ db: database.db, bus, log, metrics })
    relay.start()
    stack.push(() => relay.stop())

    const jwks = await openAuthJwks({ authUrl: config.AUTH_URL, log })

    const deps: PaymentsDeps = {
      db: database.db,
      async inTransaction(fn) {
        const result = await database.db.transaction().execute(fn)
        relay.notify()
        return result
      },
      events: createEventWriter(),
      plans,
      provider,
      log,
    }
    const webhooks = createCounter(metrics, { name: 'payments_webhooks_total', help: 'Stripe webhooks by outcome (applied, ignored, stale, unattributed, malformed, duplicate, rejected)', labelNames: ['outcome'] })
    const app = createPaymentsApp(deps, {
      metrics,
      readiness: { database: () => database.ping(), kv: () => kv.ping(), bus: () => bus.ping() },
      bearer: requireBearer({ resolveKey: (kid) => jwks.resolveKey(kid), revocations: kv, issuer: config.PUBLIC_URL, audience: config.TOKEN_AUDIENCE }),
      webhookSecret,
      webhooks,
      publicUrl: config.PUBLIC_URL,
    })

    const server = app.listen(config.PAYMENTS_PORT, config.BIND_HOST)
    await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject))
    stack.push(() => closeServer(server))
    const port = (server.address() as AddressInfo).port
    log.info({ port, provider: provider.name, webhooks: webhookSecret ? 'verified' : 'refused', plans: plans.all.length }, 'payments ready')
    return {
      url: `http://${config.BIND_HOST.includes(':') ? `[${config.BIND_HOST}]` : config.BIND_HOST}:${port}`,
      port,
      config,
      deps,
      notes,
      stop: stopAll,
    }
  } catch (error) {
    await stopAll()
    throw error
  }
}

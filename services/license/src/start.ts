import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { openBus, type Bus } from '@platform/bus'
import { createOutboxRelay } from '@platform/bus/outbox'
import { databaseUrlFor, openDatabase } from '@platform/db'
import { createMemoryKv, createRedisKv, type Kv } from '@platform/kv'
import { closeServer, createCounter, createLogger, createMetrics, resolveSecret, type Logger } from '@platform/platform'
import { openAuthJwks } from '@platform/tokens'
import { requireBearer } from '@platform/tokens/express'
import { createLicenseApp } from './app.ts'
import { createAuthEmailDirectory } from './clients/auth-users.ts'
import { loadLicenseConfig, type LicenseConfig } from './config.ts'
import type { LicenseDeps } from './domain/deps.ts'
import { loadLicenseKeyRing } from './domain/key-ring.ts'
import { GRACE_SECONDS, RESELLER_QUOTA_DEFAULT, VALIDATE_BEFORE_SECONDS } from './domain/license.ts'
import { createRevokedLicenses } from './domain/revoked-licenses.ts'
import { subscribeToSubscriptionEvents } from './events/on-subscription-changed.ts'
import { createEventWriter } from './events/publish.ts'
import { licenseMigrations } from './store/migrations/index.ts'
import type { LicenseDatabase } from './store/schema.ts'

export type RunningLicense = {
  url: string
  port: number
  config: LicenseConfig
  deps: LicenseDeps
  notes: string[]
  stop(): Promise<void>
}

/**
 * Composition root of the license service: config → adapters → app → listen. `kv` and `bus` let
 * the launcher share its in-process store and broker; otherwise REDIS_URL and AMQP_URL decide.
 * Access tokens are checked with auth's JWKS (fetched from AUTH_URL) and the shared revocation
 * lists in the store, exactly as the gateway checks them.
 */
export async function startLicense(opts: { env: NodeJS.ProcessEnv; kv?: Kv; bus?: Bus; log?: Logger }): Promise<RunningLicense> {
  const config = loadLicenseConfig(opts.env)
  const log = opts.log ?? createLogger('license', { level: config.LOG_LEVEL })
  const notes: string[] = []
  const ownKv = opts.kv === undefined
  const kv = opts.kv ?? (config.REDIS_URL ? createRedisKv({ url: config.REDIS_URL, prefix: config.REDIS_PREFIX }) : createMemoryKv())
  const metrics = createMetrics('license')
  const activations = createCounter(metrics, { name: 'license_activations_total', help: 'Activation attempts by outcome: activated, reactivated or the refusal code', labelNames: ['outcome'] })
  const { bus, owned: ownBus } = openBus({ shared: opts.bus, url: config.AMQP_URL, prefix: config.AMQP_PREFIX, connectionName: `license:${process.pid}`, log, metrics })
  const cleanups: (() => Promise<void>)[] = []
  try {
    const database = await openDatabase<LicenseDatabase>({
      service: 'license',
      url: databaseUrlFor('license', opts.env),
      dataDir: config.DATA_DIR,
      migrations: licenseMigrations,
    })
    cleanups.push(() => database.close())
    const keys = await loadLicenseKeyRing({ pem: config.LICENSE_SIGNING_KEY, file: config.LICENSE_SIGNING_KEY_FILE, dataDir: config.DATA_DIR })
    if (keys.origin === 'dev-generated') notes.push(`generated a development license signing key under ${join(config.DATA_DIR, 'secrets')}`)
    const keySecret = await resolveSecret({
      value: config.LICENSE_KEY_SECRET,
      file: config.LICENSE_KEY_SECRET_FILE,
      devPath: join(config.DATA_DIR, 'secrets', 'license-key-secret'),
    })
    if (keySecret.origin === 'dev-generated') notes.push(`generated a development license key secret under ${join(config.DATA_DIR, 'secrets')}`)

    const relay = createOutboxRelay({ db: database.db, bus, log, metrics })
    relay.start()
    cleanups.unshift(() => relay.stop())

    const jwks = await openAuthJwks({ authUrl: config.AUTH_URL, log })

    const revokedLicenses = createRevokedLicenses({ db: database.db, kv, log })
    await revokedLicenses.seed().catch((error: unknown) => log.warn({ err: error }, 'revoked licenses not loaded into the store; validation reads PostgreSQL'))

    const deps: LicenseDeps = {
      db: database.db,
      async inTransaction(fn) {
        const result = await database.db.transaction().execute(fn)
        relay.notify()
        return result
      },
      events: createEventWriter(),
      keys: keys.ring,
      keySecret: keySecret.value,
      tokens: { issuer: `${config.PUBLIC_URL}/licenses`, validateBeforeSeconds: VALIDATE_BEFORE_SECONDS, graceSeconds: GRACE_SECONDS },
      abuse: { fingerprints: config.LICENSE_ABUSE.fingerprints, windowSeconds: config.LICENSE_ABUSE.window_s },
      resellerQuotaDefault: RESELLER_QUOTA_DEFAULT,
      emails: createAuthEmailDirectory({ authUrl: config.AUTH_URL }),
      revokedLicenses,
      counters: { activationFinished: (outcome) => activations.inc({ outcome }) },
      log,
    }
    // Billing drives licenses: subscriptions issue, suspend and reactivate them (CONTRACT §6).
    // The outbox relay polls, so the rows this consumer writes are published within its idle interval.
    const subscription = await subscribeToSubscriptionEvents(bus, deps)
    cleanups.unshift(() => subscription.close())

    const app = createLicenseApp(deps, {
      metrics,
      readiness: { database: () => database.ping(), kv: () => kv.ping(), bus: () => bus.ping() },
      trustProxy: config.LICENSE_TRUST_PROXY,
      publicUrl: config.PUBLIC_URL,
      bearer: requireBearer({ resolveKey: (kid) => jwks.resolveKey(kid), revocations: kv, issuer: config.PUBLIC_URL, audience: config.TOKEN_AUDIENCE }),
    })

    const server = app.listen(config.LICENSE_PORT, config.BIND_HOST)
    await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject))
    cleanups.unshift(() => closeServer(server))
    const port = (server.address() as AddressInfo).port
    log.info({ port }, 'license ready')
    return {
      url: `http://${config.BIND_HOST.includes(':') ? `[${config.BIND_HOST}]` : config.BIND_HOST}:${port}`,
      port,
      config,
      deps,
      notes,
      async stop() {
        for (const cleanup of cleanups) await cleanup()
        if (ownBus) await bus.close()
        if (ownKv) await kv.close()
      },
    }
  } catch (error) {
    for (const cleanup of cleanups) await cleanup().catch(() => undefined)
    if (ownBus) await bus.close().catch(() => undefined)
    if (ownKv) await kv.close().catch(() => undefined)
    throw error
  }
}

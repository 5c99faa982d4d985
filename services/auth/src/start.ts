import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { openBus, type Bus } from '@platform/bus'
import { createOutboxRelay } from '@platform/bus/outbox'
import { databaseUrlFor, openDatabase } from '@platform/db'
import { createMemoryKv, createRedisKv, type Kv } from '@platform/kv'
import { closeServer, createCounter, createLogger, createMetrics, repeat, resolveSecret, type Logger } from '@platform/platform'
import { createAuthApp } from './app.ts'
import { loadAuthConfig, type AuthConfig } from './config.ts'
import { ensureBootstrapAdmin } from './domain/admin-users.ts'
import type { AuthDeps } from './domain/deps.ts'
import { deriveKey } from './domain/derive-key.ts'
import { loadConfiguredSigningKey } from './domain/key-ring.ts'
import { createRevocationList } from './domain/revocation-list.ts'
import { openKeyRing } from './domain/signing-keys.ts'
import { createAuthEvents } from './events/publish.ts'
import { pruneExpired } from './store/housekeeping.ts'
import { findUserByEmail } from './store/users.ts'
import { authMigrations } from './store/migrations/index.ts'
import type { AuthDatabase } from './store/schema.ts'

/** How often each replica deletes expired sessions, link tokens and revocations (replicas overlap harmlessly). */
const HOUSEKEEPING_EVERY_MS = 3_600_000

export type RunningAuth = {
  url: string
  port: number
  config: AuthConfig
  deps: AuthDeps
  notes: string[]
  stop(): Promise<void>
}

/**
 * Composition root of the auth service: config → adapters → app → listen. `kv` and `bus` let the
 * launcher share one in-process store with the gateway and its broker; otherwise REDIS_URL and
 * AMQP_URL decide. Events go through the outbox; the relay started here publishes them.
 */
export async function startAuth(opts: { env: NodeJS.ProcessEnv; kv?: Kv; bus?: Bus; log?: Logger }): Promise<RunningAuth> {
  const config = loadAuthConfig(opts.env)
  const log = opts.log ?? createLogger('auth', { level: config.LOG_LEVEL })
  const notes: string[] = []
  const ownKv = opts.kv === undefined
  const kv = opts.kv ?? (config.REDIS_URL ? createRedisKv({ url: config.REDIS_URL, prefix: config.REDIS_PREFIX }) : createMemoryKv())
  const database = await openDatabase<AuthDatabase>({
    service: 'auth',
    url: databaseUrlFor('auth', opts.env),
    dataDir: config.DATA_DIR,
    migrations: authMigrations,
  })
  const metrics = createMetrics('auth')
  const { bus, owned: ownBus } = openBus({ shared: opts.bus, url: config.AMQP_URL, prefix: config.AMQP_PREFIX, connectionName: `auth:${process.pid}`, log, metrics })
  const stopping: (() => Promise<void> | void)[] = [
    () => (ownKv ? kv.close() : undefined),
    () => (ownBus ? bus.close() : undefined),
    () => database.close(),
  ]
  const stopAll = async () => {
    for (const step of stopping.splice(0).reverse()) await step()
  }
  try {
    const tokenSecret = await resolveSecret({
      value: config.AUTH_TOKEN_SECRET,
      file: config.AUTH_TOKEN_SECRET_FILE,
      devPath: join(config.DATA_DIR, 'secrets', 'auth-token-secret'),
    })
    const mailTokenKey = await resolveSecret({
      value: config.MAIL_TOKEN_KEY,
      file: config.MAIL_TOKEN_KEY_FILE,
      devPath: join(config.DATA_DIR, 'secrets', 'mail-token-key'),
    })
    if (mailTokenKey.origin === 'dev-generated') notes.push(`generated a development mail token key under ${join(config.DATA_DIR, 'secrets')}`)
    const ipHashKey = await resolveSecret({
      value: config.IP_HASH_KEY,
      file: config.IP_HASH_KEY_FILE,
      devPath: join(config.DATA_DIR, 'secrets', 'ip-hash-key'),
    })
    if (ipHashKey.origin === 'dev-generated') notes.push(`generated a development IP hash key under ${join(config.DATA_DIR, 'secrets')}`)

    const relay = createOutboxRelay({ db: database.db, bus, log, metrics })
    relay.start()
    stopping.push(() => relay.stop())
    const events = createAuthEvents({ ipHashKey: ipHashKey.value, mailTokenKey: mailTokenKey.value, notify: () => relay.notify() })

    const configured = await loadConfiguredSigningKey({ pem: config.AUTH_SIGNING_KEY, file: config.AUTH_SIGNING_KEY_FILE, dataDir: config.DATA_DIR })
    if (configured.origin === 'dev-generated') notes.push(`generated a development signing key under ${join(config.DATA_DIR, 'secrets')}`)
    const keys = await openKeyRing(
      { db: database.db, encryptionKey: deriveKey(tokenSecret.value, 'signing-key-encryption'), accessTokenTtlSeconds: config.ACCESS_TOKEN_TTL, log, events },
      configured.key,
    )
    keys.start()
    stopping.push(() => keys.stop())

    const revocations = createRevocationList({ db: database.db, kv, log })
    await revocations.sync()
    revocations.start()
    stopping.push(() => revocations.stop())

    const housekeeping = repeat(
      async () => {
        const pruned = await pruneExpired(database.db, new Date())
        if (pruned.sessions + pruned.revocations + pruned.linkTokens > 0) log.info(pruned, 'expired sessions, link tokens and revocations deleted')
        return HOUSEKEEPING_EVERY_MS
      },
      { firstDelayMs: HOUSEKEEPING_EVERY_MS, retryMs: HOUSEKEEPING_EVERY_MS, onError: (err) => log.warn({ err }, 'housekeeping failed; trying again later') },
    )
    stopping.push(() => housekeeping.stop())

    const passwordChecks = createCounter(metrics, {
      name: 'auth_password_checks_total',
      help: 'Presented passwords checked against a stored hash (no_account: against the dummy hash)',
      labelNames: ['result'],
    })
    const locks = createCounter(metrics, { name: 'auth_account_locks_total', help: 'Brute-force locks started', labelNames: ['scope'] })
    const logins = createCounter(metrics, { name: 'auth_logins_total', help: 'Login attempts by outcome: success, failure, locked, disabled, unavailable', labelNames: ['outcome'] })
    const reuses = createCounter(metrics, { name: 'auth_refresh_reuse_detected_total', help: 'Spent refresh tokens presented again; each revoked its session' })

    const deps: AuthDeps = {
      db: database.db,
      revocations,
      keys,
      log,
      tokens: {
        issuer: config.PUBLIC_URL,
        audience: config.TOKEN_AUDIENCE,
        accessTokenTtlSeconds: config.ACCESS_TOKEN_TTL,
        refreshTokenTtlSeconds: config.REFRESH_TOKEN_TTL,
        refreshReuseLeewaySeconds: config.REFRESH_REUSE_LEEWAY,
        tokenSecret: tokenSecret.value,
      },
      lockout: {
        kv,
        settings: config.LOCKOUT,
        hashKey: deriveKey(tokenSecret.value, 'lockout-keys'),
        log,
        onLock: (scope) => locks.inc({ scope }),
        onLocked: async ({ scope, email, until }) => {
          const user = await findUserByEmail(database.db, email)
          await database.db.transaction().execute((trx) =>
            events.write(trx, {
              type: 'auth.account.locked',
              subject: user ? { type: 'user', id: user.id } : events.emailSubject(email),
              outcome: 'denied',
              data: { scope, until: until.toISOString() },
            }),
          )
          events.notify()
        },
      },
      counters: {
        passwordChecked: (result) => passwordChecks.inc({ result }),
        loginFinished: (outcome) => logins.inc({ outcome }),
        refreshReuseDetected: () => reuses.inc(),
      },
      events,
    }

    if (config.BOOTSTRAP_ADMIN_EMAIL && config.BOOTSTRAP_ADMIN_PASSWORD) {
      const { created } = await ensureBootstrapAdmin(deps, { email: config.BOOTSTRAP_ADMIN_EMAIL, password: config.BOOTSTRAP_ADMIN_PASSWORD })
      if (created) notes.push(`created the bootstrap admin ${config.BOOTSTRAP_ADMIN_EMAIL}`)
    }

    const app = createAuthApp(deps, {
      metrics,
      readiness: { database: () => database.ping(), kv: () => kv.ping(), bus: () => bus.ping() },
      trustProxy: config.AUTH_TRUST_PROXY,
      http: {
        allowedOrigins: new Set([...config.CORS_ORIGINS, new URL(config.PUBLIC_URL).origin]),
        introspectionClients: config.INTROSPECTION_CLIENTS,
        publicUrl: config.PUBLIC_URL,
      },
    })

    const server = app.listen(config.AUTH_PORT, config.BIND_HOST)
    await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject))
    stopping.push(() => closeServer(server))
    const port = (server.address() as AddressInfo).port
    log.info({ port }, 'auth ready')
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

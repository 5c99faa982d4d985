import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { databaseUrlFor, openDatabase } from '@platform/db'
import { createMemoryKv, createRedisKv, type Kv } from '@platform/kv'
import { closeServer, createLogger, createMetrics, resolveSecret, type Logger } from '@platform/platform'
import { createAuthApp } from './app.ts'
import { loadAuthConfig, type AuthConfig } from './config.ts'
import type { AuthDeps } from './domain/deps.ts'
import { loadKeyRing } from './domain/key-ring.ts'
import { createRevocationList } from './domain/revocation-list.ts'
import { authMigrations } from './store/migrations/index.ts'
import type { AuthDatabase } from './store/schema.ts'

export type RunningAuth = {
  url: string
  port: number
  config: AuthConfig
  deps: AuthDeps
  notes: string[]
  stop(): Promise<void>
}

/**
 * Composition root of the auth service: config → adapters → app → listen. `kv` lets the
 * launcher share one in-process store with the gateway; otherwise REDIS_URL decides.
 */
export async function startAuth(opts: { env: NodeJS.ProcessEnv; kv?: Kv; log?: Logger }): Promise<RunningAuth> {
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
  const keys = await loadKeyRing({ pem: config.AUTH_SIGNING_KEY, file: config.AUTH_SIGNING_KEY_FILE, dataDir: config.DATA_DIR })
  if (keys.origin === 'dev-generated') notes.push(`generated a development signing key under ${join(config.DATA_DIR, 'secrets')}`)
  const tokenSecret = await resolveSecret({
    value: config.AUTH_TOKEN_SECRET,
    file: config.AUTH_TOKEN_SECRET_FILE,
    devPath: join(config.DATA_DIR, 'secrets', 'auth-token-secret'),
  })

  const revocations = createRevocationList({ db: database.db, kv, log })
  await revocations.sync()
  revocations.start()

  const deps: AuthDeps = {
    db: database.db,
    revocations,
    keys: keys.ring,
    log,
    tokens: {
      issuer: config.PUBLIC_URL,
      audience: config.TOKEN_AUDIENCE,
      accessTokenTtlSeconds: config.ACCESS_TOKEN_TTL,
      refreshTokenTtlSeconds: config.REFRESH_TOKEN_TTL,
      refreshReuseLeewaySeconds: config.REFRESH_REUSE_LEEWAY,
      tokenSecret: tokenSecret.value,
    },
  }
  const app = createAuthApp(deps, {
    metrics: createMetrics('auth'),
    readiness: { database: () => database.ping(), kv: () => kv.ping() },
    trustProxy: config.AUTH_TRUST_PROXY,
    http: {
      allowedOrigins: new Set([...config.CORS_ORIGINS, new URL(config.PUBLIC_URL).origin]),
      introspectionClients: config.INTROSPECTION_CLIENTS,
    },
  })

  const server = app.listen(config.AUTH_PORT, config.BIND_HOST)
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject))
  const port = (server.address() as AddressInfo).port
  log.info({ port }, 'auth ready')
  return {
    url: `http://${config.BIND_HOST.includes(':') ? `[${config.BIND_HOST}]` : config.BIND_HOST}:${port}`,
    port,
    config,
    deps,
    notes,
    async stop() {
      revocations.stop()
      await closeServer(server)
      await database.close()
      if (ownKv) await kv.close()
    },
  }
}

import { createServer as createHttpServer, type Server } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { createMemoryKv, createRedisKv, type Kv } from '@platform/kv'
import { closeServer, createHttpApp, createLogger, finishHttpApp, type Logger } from '@platform/platform'
import { fetchJwks, openAuthJwks } from '@platform/tokens'
import { createGatewayApp } from './app.ts'
import { loadGatewayConfig, type GatewayConfig } from './config.ts'
import { createGatewayMetrics } from './metrics.ts'
import { createPlainApp } from './plain-app.ts'
import { resolvePolicies } from './rate-limit/policies.ts'
import { loadTlsMaterial, tlsServerOptions } from './tls/tls-options.ts'

export type RunningGateway = {
  url: string
  httpUrl: string
  adminUrl: string
  caPath: string | undefined
  config: GatewayConfig
  log: Logger
  stop(): Promise<void>
}

/** Composition root of the gateway: TLS, the public, plain and admin listeners. */
export async function startGateway(opts: { env: NodeJS.ProcessEnv; kv?: Kv; log?: Logger }): Promise<RunningGateway> {
  const config = loadGatewayConfig(opts.env)
  const log = opts.log ?? createLogger('gateway', { level: config.LOG_LEVEL })
  const ownKv = opts.kv === undefined
  const kv = opts.kv ?? (config.REDIS_URL ? createRedisKv({ url: config.REDIS_URL, prefix: config.REDIS_PREFIX }) : createMemoryKv())
  const tls = await loadTlsMaterial({ certFile: config.GATEWAY_TLS_CERT, keyFile: config.GATEWAY_TLS_KEY, dataDir: config.DATA_DIR })
  const metrics = createGatewayMetrics()
  const jwks = await openAuthJwks({ authUrl: config.AUTH_URL, log })

  const app = createGatewayApp({
    kv,
    jwks,
    log,
    metrics,
    policies: resolvePolicies(config.RATE_LIMITS),
    issuer: config.PUBLIC_URL,
    audience: config.TOKEN_AUDIENCE,
    corsOrigins: config.CORS_ORIGINS,
    trustProxy: config.TRUST_PROXY,
    upstreams: {
      auth: config.AUTH_URL,
      license: config.LICENSE_URL,
      payments: config.PAYMENTS_URL,
      audit: config.AUDIT_URL,
      notification: config.NOTIFICATION_URL,
    },
    upstreamTimeoutMs: config.UPSTREAM_TIMEOUT_MS,
  })
  const admin = createHttpApp({ log, metrics, readiness: { kv: () => kv.ping(), auth_jwks: () => fetchJwks(`${config.AUTH_URL}/.well-known/jwks.json`) } })
  finishHttpApp(admin, { log })

  const https = createHttpsServer(tlsServerOptions(tls), app)
  // Slow-loris guard; proxied answers have their own upstream timeout.
  https.headersTimeout = 20_000
  https.requestTimeout = config.UPSTREAM_TIMEOUT_MS + 5_000
  const httpsPort = await listen(https, config.GATEWAY_PORT, config.BIND_HOST)
  const plain = createHttpServer(createPlainApp({ httpsPort, publicUrl: config.PUBLIC_URL }))
  const httpPort = await listen(plain, config.GATEWAY_HTTP_PORT, config.BIND_HOST)
  const adminServer = createHttpServer(admin)
  const adminPort = await listen(adminServer, config.GATEWAY_ADMIN_PORT, config.GATEWAY_ADMIN_HOST)
  log.info({ port: httpsPort, http_port: httpPort, admin_port: adminPort }, 'gateway ready')

  const host = config.BIND_HOST === '0.0.0.0' || config.BIND_HOST === '::' ? 'localhost' : config.BIND_HOST
  return {
    url: `https://${host === '127.0.0.1' ? 'localhost' : host}:${httpsPort}`,
    httpUrl: `http://${host}:${httpPort}`,
    adminUrl: `http://${config.GATEWAY_ADMIN_HOST}:${adminPort}`,
    caPath: tls.caPath,
    config,
    log,
    async stop() {
      await Promise.all([closeServer(https), closeServer(plain), closeServer(adminServer)])
      if (ownKv) await kv.close()
    },
  }
}


async function listen(server: Server, port: number, host: string): Promise<number> {
  server.listen(port, host)
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject))
  return (server.address() as AddressInfo).port
}

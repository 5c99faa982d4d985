import { relative } from 'node:path'
import { startAuth, type RunningAuth } from '@platform/auth/start'
import { startGateway, type RunningGateway } from '@platform/gateway/start'
import { startLicense, type RunningLicense } from '@platform/license/start'
import { startNotification, type RunningNotification } from '@platform/notification/start'
import { startPayments, type RunningPayments } from '@platform/payments/start'
import { startAudit, type RunningAudit } from '@platform/audit/start'
import { createMemoryKv, type Kv } from '@platform/kv'
import { openBus, type Bus } from '@platform/bus'

export type RunningPlatform = {
  gateway: RunningGateway
  auth: RunningAuth
  license: RunningLicense
  payments: RunningPayments
  notification: RunningNotification
  audit: RunningAudit
  kv: Kv | undefined
  /** One bus for every service of this process: RabbitMQ with AMQP_URL, else in-process. */
  bus: Bus
  /** Stops the gateway and starts a new one over the same store and services. */
  restartGateway(overrides?: NodeJS.ProcessEnv): Promise<void>
  stop(): Promise<void>
}

/**
 * Starts every service in this process. Without REDIS_URL one in-process store is shared by all
 * of them — that is what lets the gateway see auth's revocations with no Redis at all.
 */
export async function startPlatform(env: NodeJS.ProcessEnv, opts: { bus?: Bus } = {}): Promise<RunningPlatform> {
  const kv = env.REDIS_URL ? undefined : createMemoryKv()
  // A bus handed in is the platform's from then on: it is closed with it (or when it fails to start).
  const bus = opts.bus ?? openBus({ url: env.AMQP_URL, prefix: env.AMQP_PREFIX, connectionName: 'platform' }).bus
  const auth = await startAuth({ env, kv, bus })
  let license: RunningLicense | undefined
  let payments: RunningPayments | undefined
  let notification: RunningNotification | undefined
  let audit: RunningAudit | undefined
  try {
    // First after auth: its queue then exists before any other service publishes.
    audit = await startAudit({ env: { ...env, AUTH_URL: env.AUTH_URL ?? auth.url }, kv, bus })
    license = await startLicense({ env: { ...env, AUTH_URL: env.AUTH_URL ?? auth.url }, kv, bus })
    // After license: its queue for payments.subscription.* then exists before payments publishes.
    payments = await startPayments({ env: { ...env, AUTH_URL: env.AUTH_URL ?? auth.url }, kv, bus })
    notification = await startNotification({ env: { ...env, AUTH_URL: env.AUTH_URL ?? auth.url }, kv, bus })
    const gatewayEnv = { ...env, AUTH_URL: env.AUTH_URL ?? auth.url, LICENSE_URL: env.LICENSE_URL ?? license.url, PAYMENTS_URL: env.PAYMENTS_URL ?? payments.url, NOTIFICATION_URL: env.NOTIFICATION_URL ?? notification.url, AUDIT_URL: env.AUDIT_URL ?? audit.url }
    const platform: RunningPlatform = {
      gateway: await startGateway({ env: gatewayEnv, kv }),
      auth,
      license,
      payments,
      notification,
      audit,
      kv,
      bus,
      async restartGateway(overrides = {}) {
        await platform.gateway.stop()
        platform.gateway = await startGateway({ env: { ...gatewayEnv, ...overrides }, kv })
      },
      async stop() {
        await platform.gateway.stop()
        await notification?.stop()
        await payments?.stop()
        await license?.stop()
        await audit?.stop()
        await auth.stop()
        await bus.close()
        await kv?.close()
      },
    }
    return platform
  } catch (error) {
    await notification?.stop()
    await payments?.stop()
    await license?.stop()
    await audit?.stop()
    await auth.stop()
    await bus.close()
    throw error
  }
}

/** The start-up banner: where to go, what to trust, what to try first. */
export function banner(platform: RunningPlatform, env: NodeJS.ProcessEnv): string {
  const { gateway, auth, license, payments, notification, audit } = platform
  const ca = gateway.caPath ? relative(process.cwd(), gateway.caPath) : undefined
  const curlCa = ca ? `--cacert ${ca} ` : ''
  const lines = [
    '',
    '  Security platform is up',
    '',
    `  Gateway      ${gateway.url}   (plain HTTP ${gateway.httpUrl} redirects)`,
    `  Admin        ${gateway.adminUrl}/metrics  ${gateway.adminUrl}/readyz`,
    `  Auth         ${auth.url} (internal)`,
    `  License      ${license.url} (internal)   license-token keys: ${gateway.url}/licenses/.well-known/jwks.json`,
    `  Payments     ${payments.url} (internal)   ${payments.deps.provider.name === 'sandbox' ? 'sandbox provider' : 'Stripe'}; plans: ${gateway.url}/payments/plans`,
    ca ? `  Dev CA       ${ca}  (trust it, or pass --cacert)` : '  TLS          certificate from GATEWAY_TLS_CERT',
    `  Mail         ${notification.mailTarget}`,
    `  Audit        ${audit.url} (internal)   digest keys: ${gateway.url}/audit/.well-known/jwks.json`,
    `  Storage      ${env.DATABASE_URL ? 'PostgreSQL' : `PGlite under ${auth.config.DATA_DIR}/`}, ${env.REDIS_URL ? 'Redis' : 'in-process store'}`,
    ...[...auth.notes, ...license.notes, ...payments.notes, ...audit.notes, ...notification.notes.slice(1)].map((note) => `  Note         ${note}`),
    '',
    '  Try:',
    `    curl ${curlCa}${gateway.url}/auth/register -H 'content-type: application/json' \\`,
    `      -d '{"email":"you@example.com","password":"correct horse battery"}'`,
    '',
    '  Ctrl-C stops everything.',
    '',
  ]
  return lines.join('\n')
}

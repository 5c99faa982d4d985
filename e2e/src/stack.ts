import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { deleteNamesInUse, openBus } from '@platform/bus'
import { dropDatabase, uniqueDatabaseUrl } from '@platform/db/testing'
import { createTestClient, infraUrl, type TestClient } from '@platform/testkit'
import { startPlatform, type RunningPlatform } from '@platform/launcher/platform'

/** The introspection client every test stack is configured with. */
const SERVICES = ['auth', 'license', 'payments', 'audit', 'notification'] as const

export const TEST_INTROSPECTION_CLIENT = { id: 'e2e-client', secret: 'e2e-client-secret-0123456789' }

export type Stack = {
  platform: RunningPlatform
  client: TestClient
  url: string
  dataDir: string
  env: NodeJS.ProcessEnv
  /** Restarts only the gateway (same data, same store): revocations must survive it. */
  restartGateway(): Promise<void>
  stop(): Promise<void>
}

/**
 * Starts the whole platform in this process for one test file, isolated from every other run:
 * its own data dir, ports chosen by the OS, its own PostgreSQL database when DATABASE_URL is set,
 * its own key prefix on the shared Redis (or the Redis given in `env.REDIS_URL`).
 */
export async function startStack(overrides: NodeJS.ProcessEnv = {}): Promise<Stack> {
  const dataDir = await mkdtemp(join(tmpdir(), 'platform-e2e-'))
  const databaseUrl = infraUrl('DATABASE_URL')
  const redisUrl = 'REDIS_URL' in overrides ? overrides.REDIS_URL : infraUrl('REDIS_URL')
  // Every service gets a database of its own for this stack; they are all dropped at stop.
  const serviceDatabases = databaseUrl
    ? Object.fromEntries(SERVICES.map((service) => [`${service.toUpperCase()}_DATABASE_URL`, uniqueDatabaseUrl(databaseUrl, `${service}_e2e`)]))
    : {}
  const dropDatabases = () => Promise.all(Object.values(serviceDatabases).map((url) => dropDatabase(url).catch(() => undefined)))
  const amqpUrl = infraUrl('AMQP_URL')
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    GATEWAY_PORT: '0',
    GATEWAY_HTTP_PORT: '0',
    GATEWAY_ADMIN_PORT: '0',
    AUTH_PORT: '0',
    LICENSE_PORT: '0',
    PAYMENTS_PORT: '0',
    NOTIFICATION_PORT: '0',
    AUDIT_PORT: '0',
    INTROSPECTION_CLIENTS: `${TEST_INTROSPECTION_CLIENT.id}:${TEST_INTROSPECTION_CLIENT.secret}`,
    ...(databaseUrl ? { DATABASE_URL: databaseUrl, ...serviceDatabases } : {}),
    ...(amqpUrl ? { AMQP_URL: amqpUrl, AMQP_PREFIX: `e2e-${randomBytes(6).toString('hex')}.` } : {}),
    ...(redisUrl ? { REDIS_URL: redisUrl, REDIS_PREFIX: `e2e-${randomBytes(6).toString('hex')}:` } : {}),
    ...overrides,
  }
  if (!redisUrl) delete env.REDIS_URL
  // Opened here, so the stack knows which queues and exchanges to delete even if the platform
  // fails to start after some services subscribed.
  const { bus } = openBus({ url: env.AMQP_URL, prefix: env.AMQP_PREFIX, connectionName: 'platform' })
  const deleteBrokerState = async () => {
    const names = bus.namesInUse?.()
    // Through the broker itself, not a test's proxy in front of it (gone by now).
    if (amqpUrl && env.AMQP_URL && names) await deleteNamesInUse(amqpUrl, names)
  }
  let platform: RunningPlatform
  try {
    platform = await startPlatform(env, { bus })
  } catch (error) {
    // A stack that fails to start (a bad setting under test) leaves no database, queue or data dir behind.
    await deleteBrokerState()
    await dropDatabases()
    await rm(dataDir, { recursive: true, force: true })
    throw error
  }
  const client = createTestClient(platform.gateway.url, { caPath: platform.gateway.caPath })
  const stack: Stack = {
    platform,
    client,
    url: platform.gateway.url,
    dataDir,
    env,
    async restartGateway() {
      const port = new URL(stack.platform.gateway.url).port
      await stack.platform.restartGateway({ GATEWAY_PORT: port })
    },
    async stop() {
      await client.close()
      await platform.stop()
      await deleteBrokerState()
      await dropDatabases()
      await rm(dataDir, { recursive: true, force: true })
    },
  }
  return stack
}

/**
 * A client of `stack` that connects from its own loopback address (any of 127.0.0.0/8 works on
 * Linux): to the gateway a distinct client IP, so a test gets per-IP rate-limit budgets of its
 * own without `X-Forwarded-For`. Close it when done.
 */
export function clientFrom(stack: Stack, localAddress = uniqueLoopbackAddress()): TestClient {
  return createTestClient(stack.url, { caPath: stack.platform.gateway.caPath, localAddress })
}

/** A random address in 127.0.0.0/8 other than 127.0.0.1. */
export function uniqueLoopbackAddress(): string {
  const [a, b, c] = randomBytes(3)
  return `127.${a! % 254 + 1}.${b! % 254 + 1}.${c! % 254 + 1}`
}

/** A fresh, unique e-mail address for one test. */
export function uniqueEmail(tag = 'user'): string {
  return `${tag}-${randomBytes(5).toString('hex')}@example.com`
}

export const GOOD_PASSWORD = 'correct horse battery staple'

/** Registers and logs in a new user; returns its tokens. */
export async function registerAndLogin(client: TestClient, email = uniqueEmail()) {
  const registered = await client.request('POST', '/auth/register', { json: { email, password: GOOD_PASSWORD } })
  if (registered.status !== 201) throw new Error(`register failed: ${registered.status} ${registered.text}`)
  const login = await client.request('POST', '/auth/login', { json: { email, password: GOOD_PASSWORD } })
  if (login.status !== 200) throw new Error(`login failed: ${login.status} ${login.text}`)
  return { email, id: registered.body.id as string, accessToken: login.body.access_token as string, refreshToken: login.body.refresh_token as string }
}

import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import type { TestContext } from 'node:test'
import { createAmqpBus, createEnvelope, createMemoryBus, namespacedBus, type Bus, type EventEnvelope } from '@platform/bus'
import { openDatabase } from '@platform/db'
import { dropDatabase, uniqueDatabaseUrl } from '@platform/db/testing'
import type { Kv } from '@platform/kv'
import { createLogger, sealSecret, uuidv7 } from '@platform/platform'
import { infraUrl } from '@platform/testkit/infra'
import { NOTIFICATION_QUEUE } from '../src/events/consume-event.ts'
import { notificationMigrations } from '../src/store/migrations/index.ts'
import { startNotification, type RunningNotification } from '../src/start.ts'
import type { DeliveryRow, NotificationDatabase } from '../src/store/schema.ts'

/** The key the tests seal link tokens with, as auth would. */
export const MAIL_TOKEN_KEY = 'test-mail-token-key-0123456789abcdef-0123'
export const PUBLIC_URL = 'https://platform.test'

const databaseUrl = infraUrl('DATABASE_URL')
const amqpUrl = infraUrl('AMQP_URL')

/** Where a service under test keeps its events and rows. */
export type Backend = { name: string; skip: boolean }
export const BACKENDS: Backend[] = [
  { name: 'memory bus + PGlite', skip: false },
  { name: 'RabbitMQ + PostgreSQL', skip: !databaseUrl || !amqpUrl },
]

export type ServiceUnderTest = {
  notification: RunningNotification
  /** Publishes on the exchange the service consumes from (same bus or same AMQP prefix). */
  publish(event: EventEnvelope): Promise<void>
  /** The service's log lines, parsed. */
  logs: Record<string, unknown>[]
  /** How many times the consumer finished handling `eventId` (inbox hit or not). */
  consumedCount(eventId: string): number
  deliveries(where?: { eventId?: string }): Promise<DeliveryRow[]>
}

/**
 * Starts the notification service for one test on `backend`, with a private data dir, port 0,
 * fast retries and `env` on top; everything it made (queues, database, files) goes at the end.
 */
export async function startService(
  t: TestContext,
  backend: Backend,
  env: NodeJS.ProcessEnv = {},
  adapters: { kv?: Kv; /** The URL the service reaches its PostgreSQL database by (e.g. through a proxy). */ databaseUrlVia?: (url: string) => string } = {},
): Promise<ServiceUnderTest> {
  const { databaseUrlVia, ...shared } = adapters
  const dataDir = await mkdtemp(join(tmpdir(), 'notification-test-'))
  // node:test runs `after` hooks in the order they were added: cleanup runs last-made-first here.
  const cleanups: (() => Promise<unknown>)[] = [() => rm(dataDir, { recursive: true, force: true })]
  t.after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup()
  })
  const logs: Record<string, unknown>[] = []
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>)
      callback()
    },
  })
  const log = createLogger('notification', { level: 'debug', destination })
  const baseEnv: NodeJS.ProcessEnv = {
    DATA_DIR: dataDir,
    NOTIFICATION_PORT: '0',
    PUBLIC_URL,
    MAIL_TOKEN_KEY,
    MAIL_FROM: 'Security Platform <no-reply@platform.test>',
    NOTIFICATION_POLL_MS: '20',
    NOTIFICATION_RETRY_BASE_MS: '50',
    NOTIFICATION_RETRY_MAX_MS: '200',
    AUTH_URL: 'http://127.0.0.1:9',
    LOG_LEVEL: 'debug',
  }

  let publisher: Bus
  let notification: RunningNotification
  if (backend.name.startsWith('memory')) {
    const bus = createMemoryBus({ retryBaseMs: 20, retryMaxMs: 100 })
    cleanups.push(() => bus.close())
    publisher = bus
    // In memory: a PGlite on disk costs seconds of initdb per test.
    const database = await openDatabase<NotificationDatabase>({ service: 'notification', migrations: notificationMigrations })
    cleanups.push(() => database.close())
    notification = await startNotification({ env: { ...baseEnv, ...env }, bus, log, database, ...shared })
  } else {
    const prefix = `test-notification-${randomBytes(5).toString('hex')}.`
    const dbUrl = uniqueDatabaseUrl(databaseUrl!, 'notification_test')
    // Default retry settings: `deleteQueue` removes the retry queues of the schedule it knows, the service's.
    const raw = createAmqpBus({ url: amqpUrl! })
    cleanups.push(async () => {
      await raw.deleteQueue(`${prefix}${NOTIFICATION_QUEUE}`)
      await raw.deleteExchange(`${prefix}platform.events`)
      await raw.close()
      await dropDatabase(dbUrl)
    })
    publisher = namespacedBus(raw, prefix)
    notification = await startNotification({
      env: { ...baseEnv, AMQP_URL: amqpUrl, AMQP_PREFIX: prefix, NOTIFICATION_DATABASE_URL: databaseUrlVia ? databaseUrlVia(dbUrl) : dbUrl, ...env },
      log,
      ...shared,
    })
  }
  cleanups.push(() => notification.stop())

  return {
    notification,
    publish: (event) => publisher.publish(event),
    logs,
    consumedCount: (eventId) => logs.filter((line) => line.msg === 'event consumed' && line.event_id === eventId).length,
    async deliveries(where = {}) {
      let query = notification.deps.db.selectFrom('deliveries').selectAll().orderBy('id')
      if (where.eventId) query = query.where('event_id', '=', where.eventId)
      return query.execute()
    },
  }
}

/** A fresh address for one test. */
export function uniqueEmail(tag = 'user'): string {
  return `${tag}-${randomBytes(5).toString('hex')}@example.com`
}

/** `auth.user.registered` as auth publishes it: the verification token sealed with MAIL_TOKEN_KEY. */
export function registeredEvent(email: string, token = randomBytes(32).toString('base64url'), userId: string = uuidv7()) {
  const event = createEnvelope({
    type: 'auth.user.registered',
    source: 'auth',
    subject: { type: 'user', id: userId },
    outcome: 'success',
    data: { email, verification_token_sealed: sealSecret(MAIL_TOKEN_KEY, token) },
  })
  return { event, token, userId }
}

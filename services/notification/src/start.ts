import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { Kysely } from 'kysely'
import { openBus, type Bus } from '@platform/bus'
import { databaseUrlFor, openDatabase, type Database } from '@platform/db'
import { createMemoryKv, createRedisKv, type Kv } from '@platform/kv'
import { closeServer, createLogger, createMetrics, resolveSecret, unsealSecret, type Logger } from '@platform/platform'
import { openAuthJwks } from '@platform/tokens'
import { createNotificationApp } from './app.ts'
import { loadNotificationConfig, type NotificationConfig } from './config.ts'
import { composeMail, domainOfAddress } from './domain/compose-mail.ts'
import { subscribeToEvents } from './events/consume-event.ts'
import { createMailboxMailer } from './mail/mailbox-mailer.ts'
import type { Mailer } from './mail/mailer.ts'
import { createSmtpMailer } from './mail/smtp-mailer.ts'
import { createSender, type Sender } from './sender/sender.ts'
import { notificationMigrations } from './store/migrations/index.ts'
import type { NotificationDatabase } from './store/schema.ts'

export type RunningNotification = {
  url: string
  port: number
  config: NotificationConfig
  /** Where mail goes, for the banner: the SMTP URL (no credentials) or the mailbox folder. */
  mailTarget: string
  /** Lines for the banner; the first says where mail goes. */
  notes: string[]
  deps: { db: Kysely<NotificationDatabase>; sender: Sender; log: Logger }
  stop(): Promise<void>
}

/**
 * Composition root of the notification service: config → database, bus, mailer → consumer,
 * sender loop, HTTP app → listen. `kv` and `bus` let the launcher share its in-process store and
 * broker; otherwise REDIS_URL and AMQP_URL decide. `database` hands in an open, migrated
 * database instead (tests: an in-memory PGlite, seconds faster than one on disk); its caller
 * closes it.
 */
export async function startNotification(opts: {
  env: NodeJS.ProcessEnv
  kv?: Kv
  bus?: Bus
  log?: Logger
  database?: Database<NotificationDatabase>
}): Promise<RunningNotification> {
  const config = loadNotificationConfig(opts.env)
  const log = opts.log ?? createLogger('notification', { level: config.LOG_LEVEL })
  const stack: (() => Promise<void>)[] = []
  const stopAll = async () => {
    for (const stop of stack.splice(0).reverse()) await stop()
  }
  try {
    const mailTokenKey = await resolveSecret({
      value: config.MAIL_TOKEN_KEY,
      file: config.MAIL_TOKEN_KEY_FILE,
      devPath: join(config.DATA_DIR, 'secrets', 'mail-token-key'),
    })
    const mailer: Mailer = config.SMTP_URL ? createSmtpMailer(config.SMTP_URL) : await createMailboxMailer(join(config.DATA_DIR, 'mailbox'))
    stack.push(() => mailer.close())
    const mailTarget = config.SMTP_URL ? mailer.target : `written to ${mailer.target} (no SMTP_URL)`
    const notes = [`mail ${config.SMTP_URL ? `goes to ${mailTarget}` : `is ${mailTarget}`}`]
    if (mailTokenKey.origin === 'dev-generated') notes.push(`generated a development mail token key under ${join(config.DATA_DIR, 'secrets')}`)

    const ownKv = opts.kv === undefined
    const kv = opts.kv ?? (config.REDIS_URL ? createRedisKv({ url: config.REDIS_URL, prefix: config.REDIS_PREFIX }) : createMemoryKv())
    if (ownKv) stack.push(() => kv.close())
    const metrics = createMetrics('notification')
    const { bus, owned } = openBus({ shared: opts.bus, url: config.AMQP_URL, prefix: config.AMQP_PREFIX, connectionName: 'notification', log, metrics })
    if (owned) stack.push(() => bus.close())
    const database =
      opts.database ??
      (await openDatabase<NotificationDatabase>({
        service: 'notification',
        url: databaseUrlFor('notification', opts.env),
        dataDir: config.DATA_DIR,
        migrations: notificationMigrations,
      }))
    if (!opts.database) stack.push(() => database.close())

    const from = config.MAIL_FROM ?? `Security Platform <no-reply@${new URL(config.PUBLIC_URL).hostname}>`
    const openSealed = (sealed: string) => unsealSecret(mailTokenKey.value, sealed)
    const sender = createSender({
      db: database.db,
      mailer,
      log,
      compose: (delivery) => composeMail(delivery, { publicUrl: config.PUBLIC_URL, openSealed, from, messageIdDomain: domainOfAddress(from) }),
      policy: { maxAttempts: config.NOTIFICATION_MAX_ATTEMPTS, baseMs: config.NOTIFICATION_RETRY_BASE_MS, maxMs: config.NOTIFICATION_RETRY_MAX_MS },
      pollMs: config.NOTIFICATION_POLL_MS,
    })
    sender.start()
    stack.push(() => sender.stop())
    const subscription = await subscribeToEvents(bus, {
      db: database.db,
      alertEmails: config.ALERT_EMAILS,
      openSealed,
      log,
      onRecorded: () => sender.notify(),
    })
    stack.push(() => subscription.close())

    const jwks = await openAuthJwks({ authUrl: config.AUTH_URL, log })
    const app = createNotificationApp(
      { db: database.db, log, verifier: { resolveKey: (kid) => jwks.resolveKey(kid), revocations: kv, issuer: config.PUBLIC_URL, audience: config.TOKEN_AUDIENCE } },
      {
        metrics,
        readiness: { database: () => database.ping(), kv: () => kv.ping(), broker: () => bus.ping() },
        trustProxy: config.NOTIFICATION_TRUST_PROXY,
      },
    )
    const server = app.listen(config.NOTIFICATION_PORT, config.BIND_HOST)
    await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject))
    stack.push(() => closeServer(server))
    const port = (server.address() as AddressInfo).port
    log.info({ port, mail: mailTarget }, 'notification ready')
    return {
      url: `http://${config.BIND_HOST.includes(':') ? `[${config.BIND_HOST}]` : config.BIND_HOST}:${port}`,
      port,
      config,
      mailTarget,
      notes,
      deps: { db: database.db, sender, log },
      stop: stopAll,
    }
  } catch (error) {
    await stopAll()
    throw error
  }
}


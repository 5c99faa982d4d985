import { hostname } from 'node:os'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { Kysely } from 'kysely'
import { openBus, type Bus } from '@platform/bus'
import { createOutboxRelay } from '@platform/bus/outbox'
import { databaseUrlFor, openDatabase } from '@platform/db'
import { createMemoryKv, createRedisKv, type Kv } from '@platform/kv'
import { closeServer, createLogger, createMetrics, repeat, resolveSecret, type Logger } from '@platform/platform'
import { openAuthJwks } from '@platform/tokens'
import { createAuditApp } from './app.ts'
import { loadAuditConfig, type AuditConfig } from './config.ts'
import { digestKeyFromPem, generateDigestKeyPem } from './domain/digest.ts'
import { issueDigestIfDue, nextDigestDue } from './domain/issue-digest.ts'
import { purgeExpired, type PurgeResult } from './domain/retention.ts'
import { startAuditConsumer, type AuditConsumer } from './events/consumer.ts'
import { createRecordRelay } from './events/record-relay.ts'
import { errorMessage } from './jobs/errors.ts'
import { rememberSigningKey, type StoredDigest } from './store/digests.ts'
import { auditMigrations } from './store/migrations/index.ts'
import type { AuditDatabase } from './store/schema.ts'

/** How often the retention job looks for expired records. */
const RETENTION_CHECK_MS = 3_600_000
const DAY_MS = 86_400_000
const JOB_RETRY_MAX_MS = 30_000
// A digest is not due a hair early because two clocks (ours, the database's) disagree a little.
const DIGEST_WAKE_MIN_MS = 250

export type RunningAudit = {
  url: string
  port: number
  config: AuditConfig
  notes: string[]
  log: Logger
  deps: { db: Kysely<AuditDatabase>; kind: 'postgres' | 'pglite'; bus: Bus }
  consumer: AuditConsumer
  /** The scheduled jobs, callable now (tests, operations). */
  jobs: {
    issueDigest(): Promise<StoredDigest | undefined>
    purge(cutoff?: Date): Promise<PurgeResult>
    relayRecords(): Promise<number>
  }
  stop(): Promise<void>
}

/**
 * Composition root of the audit service: config → database, signing key, bus → consumer,
 * relays, jobs → app → listen. `kv` and `bus` let the launcher share its in-process store and
 * broker; otherwise REDIS_URL and AMQP_URL decide.
 */
export async function startAudit(opts: { env: NodeJS.ProcessEnv; kv?: Kv; bus?: Bus; log?: Logger }): Promise<RunningAudit> {
  const config = loadAuditConfig(opts.env)
  const log = opts.log ?? createLogger('audit', { level: config.LOG_LEVEL })
  const notes: string[] = []
  const cleanup: (() => Promise<void>)[] = []
  const unwind = async () => {
    for (const step of cleanup.reverse()) await step().catch((error: unknown) => log.error({ err: error }, 'audit stop step failed'))
  }
  try {
    const kv = opts.kv ?? (config.REDIS_URL ? createRedisKv({ url: config.REDIS_URL, prefix: config.REDIS_PREFIX }) : createMemoryKv())
    if (!opts.kv) cleanup.push(() => kv.close())
    const database = await openDatabase<AuditDatabase>({ service: 'audit', url: databaseUrlFor('audit', opts.env), dataDir: config.DATA_DIR, migrations: auditMigrations })
    cleanup.push(() => database.close())
    const db = database.db

    const secret = await resolveSecret({
      value: config.AUDIT_SIGNING_KEY?.replaceAll('\\n', '\n'),
      file: config.AUDIT_SIGNING_KEY_FILE,
      devPath: join(config.DATA_DIR, 'secrets', 'audit-signing-key.pem'),
      generate: generateDigestKeyPem,
    })
    const signingKey = digestKeyFromPem(secret.value)
    if (secret.origin === 'dev-generated') notes.push(`generated a development digest signing key under ${join(config.DATA_DIR, 'secrets')}`)
    await rememberSigningKey(db, signingKey.publicJwk)

    const metrics = createMetrics('audit')
    const { bus, owned } = openBus({ shared: opts.bus, url: config.AMQP_URL, prefix: config.AMQP_PREFIX, connectionName: `audit:${hostname()}:${process.pid}`, log, metrics })
    if (owned) cleanup.push(() => bus.close())

    const jwks = await openAuthJwks({ authUrl: config.AUTH_URL, log })

    const outboxRelay = createOutboxRelay({ db, bus, log, metrics })
    outboxRelay.start()
    cleanup.push(() => outboxRelay.stop())
    const recordRelay = createRecordRelay({ db, bus, log })
    recordRelay.start()
    cleanup.push(() => recordRelay.stop())

    const consumer = await startAuditConsumer({
      bus,
      db,
      log,
      onCommitted: (result) => {
        recordRelay.stored(result.stored)
        if (result.alerts.length > 0) outboxRelay.notify()
      },
    })
    cleanup.push(() => consumer.close())

    const intervalSeconds = config.AUDIT_DIGEST_INTERVAL
    const issueDigest = () => issueDigestIfDue(db, signingKey, { intervalSeconds })
    const digestJob = repeat(
      async () => {
        const digest = await issueDigest()
        if (digest) log.info({ number: digest.number, to_seq: digest.to_seq }, 'audit digest signed')
        return Math.max(DIGEST_WAKE_MIN_MS, (await nextDigestDue(db, { intervalSeconds })).getTime() - Date.now())
      },
      { retryMs: Math.min(intervalSeconds * 1000, JOB_RETRY_MAX_MS), onError: (error) => log.error({ err: errorMessage(error) }, 'audit digest failed; retrying') },
    )
    cleanup.push(() => digestJob.stop())

    const purge = (cutoff = new Date(Date.now() - config.AUDIT_RETENTION_DAYS * DAY_MS)) => purgeExpired(db, { cutoff })
    const retentionJob = repeat(
      async () => {
        const result = await purge()
        if (result.purged > 0) log.info({ purged: result.purged, anchor_seq: result.anchor.seq }, 'audit records past retention purged')
        return RETENTION_CHECK_MS
      },
      { firstDelayMs: 1_000, retryMs: JOB_RETRY_MAX_MS, onError: (error) => log.error({ err: errorMessage(error) }, 'audit retention failed; retrying') },
    )
    cleanup.push(() => retentionJob.stop())

    const app = createAuditApp(
      { db, signingKey, log, verifier: { resolveKey: (kid) => jwks.resolveKey(kid), revocations: kv, issuer: config.PUBLIC_URL, audience: config.TOKEN_AUDIENCE } },
      { metrics, readiness: { database: () => database.ping(), kv: () => kv.ping(), broker: () => bus.ping() } },
    )
    const server = app.listen(config.AUDIT_PORT, config.BIND_HOST)
    await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject))
    // Closed before anything else: no request may find the database gone.
    cleanup.push(() => closeServer(server))
    const port = (server.address() as AddressInfo).port
    log.info({ port }, 'audit ready')

    let stopping: Promise<void> | undefined
    return {
      url: `http://${config.BIND_HOST.includes(':') ? `[${config.BIND_HOST}]` : config.BIND_HOST}:${port}`,
      port,
      config,
      notes,
      log,
      deps: { db, kind: database.kind, bus },
      consumer,
      jobs: { issueDigest, purge, relayRecords: () => recordRelay.flushOnce() },
      stop: () => (stopping ??= unwind()),
    }
  } catch (error) {
    await unwind()
    throw error
  }
}

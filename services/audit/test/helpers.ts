import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes, randomUUID } from 'node:crypto'
import { createAmqpBus, createEnvelope, createMemoryBus, namespacedBus, type Bus, type EnvelopeInput, type EventEnvelope, type InspectableBus } from '@platform/bus'
import { dropDatabase, uniqueDatabaseUrl } from '@platform/db/testing'
import { createMemoryKv, type Kv } from '@platform/kv'
import { generateSigningKey, revocationKeys, signAccessToken, toJwks } from '@platform/tokens'
import { waitUntil } from '@platform/testkit/infra'
import type { AuditRecord } from '../src/domain/record.ts'
import { startAudit, type RunningAudit } from '../src/start.ts'
import { rowToRecord } from '../src/store/records.ts'

const ISSUER = 'https://localhost:8443'
const AUDIENCE = 'platform'

/** A stand-in for auth: publishes a JWKS and signs access tokens with the matching key. */
export type FakeAuth = { url: string; token(opts: { sub?: string; roles?: string[] }): { token: string; sub: string } }

export async function startFakeAuth(): Promise<FakeAuth & { close(): Promise<void> }> {
  const key = generateSigningKey()
  const server = createServer((req, res) => {
    if (req.url !== '/.well-known/jwks.json') return void res.writeHead(404).end()
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(toJwks([key])))
  })
  server.listen(0, '127.0.0.1')
  await new Promise<void>((resolve) => server.once('listening', resolve))
  return {
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    token({ sub = randomUUID(), roles = ['user'] }) {
      const { token } = signAccessToken({ key, issuer: ISSUER, audience: AUDIENCE, ttlSeconds: 300, subject: sub, sessionId: randomUUID(), roles, emailVerified: true })
      return { token, sub }
    },
  }
}

/** The revocation lists as auth leaves them once loaded: empty, with the ready marker. */
export async function readyKv(): Promise<Kv> {
  const kv = createMemoryKv()
  await kv.set(revocationKeys.ready(), '1')
  return kv
}

/** A bus and the infrastructure under one test: which broker and which database. */
export type Setup = { name: string; bus: 'memory' | 'amqp'; databaseUrl?: string | undefined; amqpUrl?: string | undefined }

/** One audit service for one test, on `setup`'s bus and database, with its own data dir. */
export type Harness = {
  audit: RunningAudit
  bus: InspectableBus
  auth: FakeAuth
  /** Publishes events as a producer's relay would. */
  publish(...inputs: Partial<EnvelopeInput>[]): Promise<EventEnvelope[]>
  /** Waits until the events with these ids are stored; returns their records in seq order. */
  waitForIds(ids: readonly string[]): Promise<AuditRecord[]>
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON answers field by field
  get(path: string, token?: string): Promise<{ status: number; body: any; text: string; headers: Headers }>
  admin: string
  /** Starts another audit replica on the same database and bus; stopped with the harness. */
  replica(): Promise<RunningAudit>
  close(): Promise<void>
}

/**
 * Starts an audit service on `setup`'s bus and database, with a fake auth and a ready revocation
 * store. Opening an embedded database takes seconds, so a suite shares one harness and each test
 * works with its own ids.
 */
export async function openHarness(setup: Setup, env: NodeJS.ProcessEnv = {}): Promise<Harness> {
  const auth = await startFakeAuth()
  const kv = await readyKv()
  const dataDir = await mkdtemp(join(tmpdir(), 'audit-test-'))
  const prefix = `test-audit-${randomBytes(4).toString('hex')}.`
  const raw = setup.bus === 'amqp' ? createAmqpBus({ url: setup.amqpUrl! }) : createMemoryBus()
  const bus = inspectable(raw, prefix)
  const databaseUrl = setup.databaseUrl ? uniqueDatabaseUrl(setup.databaseUrl, 'audit_test') : undefined
  const auditEnv: NodeJS.ProcessEnv = {
    DATA_DIR: dataDir,
    AUDIT_PORT: '0',
    AUTH_URL: auth.url,
    LOG_LEVEL: 'silent',
    ...(databaseUrl ? { AUDIT_DATABASE_URL: databaseUrl } : {}),
    ...env,
  }
  const started: RunningAudit[] = []
  const start = async () => {
    const audit = await startAudit({ env: auditEnv, kv, bus })
    started.push(audit)
    return audit
  }
  const close = async () => {
    for (const audit of started.reverse()) await audit.stop()
    if (setup.bus === 'amqp') {
      for (const queue of ['audit.events', 'test.records', 'test.alerts']) await bus.deleteQueue(queue).catch(() => {})
      for (const exchange of ['platform.events', 'audit.records']) await bus.deleteExchange(exchange).catch(() => {})
    }
    await raw.close()
    if (databaseUrl) await dropDatabase(databaseUrl)
    await rm(dataDir, { recursive: true, force: true })
    await kv.close()
    await auth.close()
  }
  const audit = await start()
  const admin = auth.token({ roles: ['admin'] }).token
  return {
    audit,
    bus,
    auth,
    admin,
    async publish(...inputs) {
      const events = inputs.map((input) => createEnvelope({ type: 'auth.login.succeeded', source: 'auth', data: {}, ...input }))
      for (const event of events) await bus.publish(event)
      return events
    },
    async waitForIds(ids) {
      let records: AuditRecord[] = []
      await waitUntil(
        async () => {
          const rows = ids.length === 0 ? [] : await audit.deps.db.selectFrom('audit_records').selectAll().where('id', 'in', [...new Set(ids)]).orderBy('seq').execute()
          records = rows.map(rowToRecord)
          return records.length === new Set(ids).size
        },
        { timeoutMs: 60_000, what: `${ids.length} audit records` },
      )
      return records
    },
    async get(path, token) {
      const res = await fetch(`${audit.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} })
      const text = await res.text()
      let body: unknown
      try {
        body = JSON.parse(text)
      } catch {
        body = undefined
      }
      return { status: res.status, body, text, headers: res.headers }
    },
    replica: start,
    close,
  }
}

/** `namespacedBus` keeps only the `Bus` methods; tests also read dead letters under the prefix. */
function inspectable(bus: InspectableBus, prefix: string): InspectableBus {
  const view: Bus = namespacedBus(bus, prefix)
  const exchange = (name = 'platform.events') => `${prefix}${name}`
  return {
    ...view,
    deadLetters: (queue) => bus.deadLetters(`${prefix}${queue}`),
    deadLetterCount: (queue) => bus.deadLetterCount(`${prefix}${queue}`),
    publishRaw: (key, body, opts) => bus.publishRaw(key, body, { exchange: exchange(opts?.exchange) }),
    deleteQueue: (queue) => bus.deleteQueue(`${prefix}${queue}`),
    deleteExchange: (name) => bus.deleteExchange(exchange(name)),
    close: async () => {},
  }
}

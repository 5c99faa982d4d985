// The audit figures of `npm run bench` (issue 3): end-to-end events/s from a producer's outbox
// through the relay, the broker and the audit consumer to a chained row, the audit consumer's own
// ingestion rate from a backlog, and commit → stored latency at a steady load; each against the
// same run's raw batched insert of the same rows into a table of the same shape; and the outbox
// relay against raw amqplib publishing of the same messages with publisher confirms. Uses
// DATABASE_URL and AMQP_URL when set (the figures that matter), else PGlite and the in-process bus.
// Standalone: `node --import tsx bench/src/audit.ts`.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import amqp from 'amqplib'
import { sql, type Kysely, type Migration } from 'kysely'
import { createAmqpBus, createEnvelope, createMemoryBus, namespacedBus, type EventEnvelope, type InspectableBus } from '@platform/bus'
import { createOutboxRelay, OUTBOX_BATCH_SIZE_DEFAULT, outboxMigration, writeEvent, type OutboxRelay, type OutboxTables } from '@platform/bus/outbox'
import { inTransaction, openDatabase } from '@platform/db'
import { dropDatabase, uniqueDatabaseUrl } from '@platform/db/testing'
import { startAudit } from '@platform/audit/start'
import { createChainWriter } from '../../services/audit/src/domain/ingest.ts'
import { BATCH_SIZE_DEFAULT } from '../../services/audit/src/events/consumer.ts'
import { startIpcProcess } from './processes.ts'

export type AuditBenchRow = { figure: string; value: string; baseline: string; ratio: number | null; target: string }

const EVENTS = Number(process.env.BENCH_AUDIT_EVENTS ?? 20_000)
const WARM_UP_EVENTS = 2_000
const RAW_BATCH = 100
const PUBLISH_CHUNK = 500

/** Runs the audit figures; `log` tells progress. */
export async function measureAudit(opts: { seconds: number; log: (msg: string) => void }): Promise<AuditBenchRow[]> {
  const databaseUrl = process.env.DATABASE_URL || undefined
  const amqpUrl = process.env.AMQP_URL || undefined
  const dataDir = await mkdtemp(join(tmpdir(), 'platform-bench-audit-'))
  const auditDb = databaseUrl ? uniqueDatabaseUrl(databaseUrl, 'audit_bench') : undefined
  const producerDb = databaseUrl ? uniqueDatabaseUrl(databaseUrl, 'producer_bench') : undefined
  const prefix = `bench-${randomBytes(4).toString('hex')}.`
  const raw: InspectableBus = amqpUrl ? createAmqpBus({ url: amqpUrl, connectionName: 'bench-audit' }) : createMemoryBus()
  const bus = namespacedBus(raw, prefix)
  const producer = await openDatabase<OutboxTables>({ service: 'producer', url: producerDb, migrations: { '0001-outbox': outboxMigration as Migration } })
  const audit = await startAudit({ env: { DATA_DIR: dataDir, AUDIT_PORT: '0', LOG_LEVEL: 'warn', ...(auditDb ? { AUDIT_DATABASE_URL: auditDb } : {}) }, bus })
  const db = audit.deps.db
  const rows: AuditBenchRow[] = []
  const where = `${amqpUrl ? 'RabbitMQ' : 'in-process bus'}, ${databaseUrl ? 'PostgreSQL' : 'PGlite'}`
  let closeRelay: (() => Promise<void>) | undefined
  try {
    const lastSeq = async () => Number((await db.selectFrom('audit_chain_head').select('last_seq').executeTakeFirstOrThrow()).last_seq)
    const eventsOf = (n: number, tag: string) => Array.from({ length: n }, (_, i) => sampleEvent(tag, i))
    // Polls the chain head (one indexed row) until `target`; returns the ms from `from`.
    const waitFor = async (target: number, from: number) => {
      while ((await lastSeq()) < target) await new Promise((resolve) => setTimeout(resolve, 10))
      return performance.now() - from
    }

    // Between phases, let audit finish republishing on audit.records, so no phase pays for the last.
    const settle = async () => {
      for (;;) {
        const relayed = Number((await db.selectFrom('audit_record_relay').select('relayed_seq').executeTakeFirstOrThrow()).relayed_seq)
        if (relayed >= (await lastSeq())) return
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }
    const relay = await startProducerRelay({ amqpUrl, producerDb, prefix, inProcess: () => createOutboxRelay({ db: producer.db, bus }) })
    closeRelay = relay.close
    const fillOutbox = async (events: EventEnvelope[]) => {
      for (let i = 0; i < events.length; i += PUBLISH_CHUNK) {
        await inTransaction(producer.db, async (trx) => {
          for (const event of events.slice(i, i + PUBLISH_CHUNK)) await writeEvent(trx, event)
        })
      }
      // A live outbox has planner statistics (autovacuum analyzes it within a minute); this one
      // was created and filled seconds ago, and without them PostgreSQL sorts the whole backlog
      // for every claimed batch instead of walking the partial index.
      await sql`analyze outbox`.execute(producer.db)
    }
    const unpublished = async () => Number((await producer.db.selectFrom('outbox').select(sql<string>`count(*)`.as('n')).where('published_at', 'is', null).executeTakeFirstOrThrow()).n)

    // 0. Warm-up, as every other figure has one: a small backlog through relay, broker and
    // consumer, so no measured phase pays for a cold process (the relay's is a fresh one).
    opts.log('audit: warm-up')
    const warm = await lastSeq()
    await fillOutbox(eventsOf(WARM_UP_EVENTS, 'warm-up'))
    await relay.start()
    await waitFor(warm + WARM_UP_EVENTS, performance.now())
    await relay.stop()
    await settle()

    // 1. The parts apart. While audit is held at the chain head, the relay moves a backlog of
    // committed outbox rows to the broker (the relay alone); then audit is let go on the queue
    // that built up (audit ingestion alone).
    opts.log(`audit: outbox relay alone, then audit ingestion alone (${where}), ${EVENTS} events each`)
    const base = await lastSeq()
    await fillOutbox(eventsOf(EVENTS, 'parts'))
    // Baseline of the relay, measured next to it: the same messages published raw.
    const rawPublishRate = amqpUrl ? await rawPublishRateOf(amqpUrl, `${prefix}raw`, eventsOf(EVENTS, 'raw-publish')) : undefined
    const release = await holdChainHead(db)
    const relayStart = performance.now()
    await relay.start()
    while ((await unpublished()) > 0) await new Promise((resolve) => setTimeout(resolve, 10))
    const relayRate = EVENTS / ((performance.now() - relayStart) / 1000)
    await relay.stop()
    const ingestStart = performance.now()
    await release()
    const ingestRate = EVENTS / ((await waitFor(base + EVENTS, ingestStart)) / 1000)

    await settle()
    // 2. End to end: a backlog of committed outbox rows, relay and audit running together.
    opts.log('audit: end to end')
    await fillOutbox(eventsOf(EVENTS, 'e2e'))
    const e2eBase = base + EVENTS
    const e2eStart = performance.now()
    await relay.start()
    const e2eRate = EVENTS / ((await waitFor(e2eBase + EVENTS, e2eStart)) / 1000)
    const ingestBase = e2eBase

    await settle()
    // 3. Latency at a steady load: one event per producer transaction, as a service writes them.
    const rate = Math.max(50, Math.min(1000, Math.floor(e2eRate * 0.3)))
    opts.log(`audit: commit → stored latency at ${rate} events/s`)
    const committedAt = new Map<string, number>()
    const steadyStart = performance.now()
    let sent = 0
    while (performance.now() - steadyStart < opts.seconds * 1000) {
      const due = Math.floor(((performance.now() - steadyStart) / 1000) * rate)
      const writes: Promise<void>[] = []
      for (; sent < due; sent++) {
        const event = sampleEvent('steady', sent)
        writes.push(
          inTransaction(producer.db, (trx) => writeEvent(trx, event)).then(() => {
            committedAt.set(event.id, Date.now())
            relay.notify()
          }),
        )
      }
      await Promise.all(writes)
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    await waitFor(ingestBase + EVENTS + committedAt.size, performance.now())
    await relay.stop()
    const stored = await db.selectFrom('audit_records').select(['id', 'recorded_at']).where('id', 'in', [...committedAt.keys()]).execute()
    const latencies = stored.map((r) => new Date(r.recorded_at).getTime() - committedAt.get(r.id)!).sort((a, b) => a - b)
    const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN

    await settle()
    // 4. The chain append alone, no broker: hash and append batches as the consumer does.
    opts.log('audit: chain append alone')
    const writer = createChainWriter(db)
    const direct = eventsOf(EVENTS, 'direct').map((event) => ({ event, maybeStored: false }))
    await writer.write(direct.slice(0, 1))
    const directStart = performance.now()
    for (let i = 1; i < direct.length; i += BATCH_SIZE_DEFAULT) await writer.write(direct.slice(i, i + BATCH_SIZE_DEFAULT))
    const directRate = (EVENTS - 1) / ((performance.now() - directStart) / 1000)

    await settle()
    // 5. Baseline: the same rows, inserted raw in batches of 100 into a table of the same shape.
    opts.log('audit: raw batched insert baseline')
    const rawRate = await rawInsertRate(db, EVENTS)

    const rawLabel = `${rawRate.toFixed(0)} raw rows/s (batches of ${RAW_BATCH})`
    rows.push(
      { figure: `audit end to end events/s (outbox → relay → ${amqpUrl ? 'RabbitMQ' : 'bus'} → chained row)`, value: e2eRate.toFixed(0), baseline: rawLabel, ratio: e2eRate / rawRate, target: '≥ 0.5' },
      { figure: '  of which: audit ingestion alone (queue backlog → chained row)', value: ingestRate.toFixed(0), baseline: rawLabel, ratio: ingestRate / rawRate, target: '≥ 0.5' },
      {
        figure: `  of which: outbox relay alone (outbox → broker, confirms) vs raw amqplib confirmed publish`,
        value: relayRate.toFixed(0),
        baseline: rawPublishRate === undefined ? 'no broker (in-process bus)' : `${rawPublishRate.toFixed(0)} raw msg/s (confirm channel, batches of ${OUTBOX_BATCH_SIZE_DEFAULT})`,
        ratio: rawPublishRate === undefined ? null : relayRate / rawPublishRate,
        target: '≥ 0.7',
      },
      { figure: `  of which: chain append alone (hash + one statement per ${BATCH_SIZE_DEFAULT}, no broker)`, value: directRate.toFixed(0), baseline: rawLabel, ratio: directRate / rawRate, target: '≥ 0.5' },
      { figure: `audit commit → stored p50 / p99 ms (${rate} events/s)`, value: `${pct(50)} / ${pct(99)}`, baseline: '', ratio: null, target: '' },
    )
  } finally {
    await closeRelay?.()
    await audit.stop()
    await producer.close()
    if (amqpUrl) {
      await raw.deleteQueue(`${prefix}audit.events`).catch(() => {})
      for (const exchange of ['platform.events', 'audit.records']) await raw.deleteExchange(`${prefix}${exchange}`).catch(() => {})
    }
    await raw.close()
    for (const url of [auditDb, producerDb]) if (url) await dropDatabase(url).catch(() => {})
    await rm(dataDir, { recursive: true, force: true })
  }
  return rows
}

/** The producer's outbox relay, driven from here wherever it runs. */
type ProducerRelay = { start(): Promise<void>; stop(): Promise<void>; notify(): void; close(): Promise<void> }

/**
 * With a broker, the relay runs in a process of its own (bench/src/outbox-relay-process.ts), as a
 * producer's relay runs in the producer, not on the audit consumer's event loop; `notify` crosses
 * over IPC as a producer's commit would wake its relay. The in-process bus cannot cross a process,
 * so without a broker the relay runs here.
 */
async function startProducerRelay(opts: { amqpUrl: string | undefined; producerDb: string | undefined; prefix: string; inProcess: () => OutboxRelay }): Promise<ProducerRelay> {
  if (!opts.amqpUrl) {
    const relay = opts.inProcess()
    return { start: async () => relay.start(), stop: () => relay.stop(), notify: () => relay.notify(), close: () => relay.stop() }
  }
  const child = await startIpcProcess('bench/src/outbox-relay-process.ts', { PRODUCER_DATABASE_URL: opts.producerDb, AMQP_URL: opts.amqpUrl, BENCH_PREFIX: opts.prefix })
  return {
    start: async () => child.send('start'),
    stop: () => child.request('stop', 'stopped'),
    notify: () => child.send('notify'),
    async close() {
      const exited = new Promise((resolve) => child.child.once('exit', resolve))
      child.send('close')
      await exited
    },
  }
}

/** An event of the size auth's login events have, with a secret in it for the scrubber to find. */
function sampleEvent(tag: string, n: number): EventEnvelope {
  return createEnvelope({
    type: n % 10 === 0 ? 'auth.login.succeeded' : 'license.license.activated',
    source: 'bench',
    actor_id: randomBytes(16).toString('hex'),
    subject: { type: 'user', id: randomBytes(16).toString('hex') },
    outcome: 'success',
    request_id: `${tag}-${n}`,
    ip_hash: randomBytes(32).toString('hex'),
    user_agent: 'Mozilla/5.0 (bench)',
    data: { n, session_id: randomBytes(8).toString('hex'), password: 'never stored', product: 'bench' },
  })
}

async function holdChainHead<DB>(db: Kysely<DB>): Promise<() => Promise<void>> {
  let locked!: () => void
  let release!: () => void
  const isLocked = new Promise<void>((resolve) => (locked = resolve))
  const gate = new Promise<void>((resolve) => (release = resolve))
  const holding = inTransaction(db, async (trx) => {
    await sql`select last_seq from audit_chain_head where id = 1 for update`.execute(trx)
    locked()
    await gate
  })
  await Promise.race([isLocked, holding])
  return async () => {
    release()
    await holding
  }
}

/**
 * Messages/s of plain amqplib publishing with publisher confirms, the honest raw way: a confirm
 * channel, persistent messages with the properties the bus sets, to a durable topic exchange
 * bound to a durable queue (as `platform.events` → `audit.events`), in batches of the relay's
 * batch size, waiting for every confirm of a batch before the next. The bodies are the JSON of
 * `events`, so the messages are the relay's, byte for byte. Both are deleted afterwards.
 */
async function rawPublishRateOf(url: string, name: string, events: readonly EventEnvelope[]): Promise<number> {
  const connection = await amqp.connect(url)
  try {
    const channel = await connection.createConfirmChannel()
    await channel.assertExchange(name, 'topic', { durable: true })
    await channel.assertQueue(name, { durable: true })
    await channel.bindQueue(name, name, '#')
    const messages = events.map((event) => ({
      routingKey: event.type,
      body: Buffer.from(JSON.stringify(event)),
      props: { persistent: true, contentType: 'application/json', messageId: event.id, type: event.type, timestamp: Math.floor(Date.parse(event.occurred_at) / 1000), appId: event.source },
    }))
    const start = performance.now()
    for (let i = 0; i < messages.length; i += OUTBOX_BATCH_SIZE_DEFAULT) {
      for (const m of messages.slice(i, i + OUTBOX_BATCH_SIZE_DEFAULT)) channel.publish(name, m.routingKey, m.body, m.props)
      await channel.waitForConfirms()
    }
    const rate = messages.length / ((performance.now() - start) / 1000)
    await channel.deleteQueue(name)
    await channel.deleteExchange(name)
    await channel.close()
    return rate
  } finally {
    await connection.close().catch(() => {})
  }
}

/** Rows/s of plain multi-row inserts (one transaction per 100) into a copy of `audit_records`. */
async function rawInsertRate<DB>(db: Kysely<DB>, count: number): Promise<number> {
  await sql`create table audit_records_baseline (like audit_records including all)`.execute(db)
  const rows = Array.from({ length: count }, (_, i) => {
    const event = sampleEvent('raw', i)
    return sql`(${i + 1}, ${event.id}, ${event.occurred_at}, ${event.occurred_at}, ${event.source}, ${event.type}, ${event.actor_id}, ${event.subject!.type}, ${event.subject!.id}, ${event.outcome}, ${event.ip_hash}, ${event.user_agent}, ${event.request_id}, ${JSON.stringify({ ...event.data, password: '[redacted]' })}, ${randomBytes(32).toString('hex')}, ${randomBytes(32).toString('hex')})`
  })
  const start = performance.now()
  for (let i = 0; i < rows.length; i += RAW_BATCH) {
    await inTransaction(db, (trx) =>
      sql`insert into audit_records_baseline (seq, id, occurred_at, recorded_at, source, action, actor_id, subject_type, subject_id, outcome, ip_hash, user_agent, request_id, details, prev_hash, hash) values ${sql.join(rows.slice(i, i + RAW_BATCH))}`.execute(trx),
    )
  }
  const rate = count / ((performance.now() - start) / 1000)
  await sql`drop table audit_records_baseline`.execute(db)
  return rate
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rows = await measureAudit({ seconds: Number(process.env.BENCH_SECONDS ?? 8), log: (msg) => process.stderr.write(`bench: ${msg}\n`) })
  const table = ['| figure | measured | baseline (same run) | ratio | target |', '| --- | --- | --- | --- | --- |', ...rows.map((r) => `| ${r.figure} | ${r.value} | ${r.baseline} | ${r.ratio === null ? '' : r.ratio.toFixed(2)} | ${r.target} |`)]
  process.stdout.write(`\n${table.join('\n')}\n`)
}

import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, describe, it, type TestContext } from 'node:test'
import { inTransaction, openDatabase, type Database } from '@platform/db'
import { dropDatabase, uniqueDatabaseUrl } from '@platform/db/testing'
import { infraUrl, waitUntil } from '@platform/testkit/infra'
import type { Migration } from 'kysely'
import { createAmqpBus } from '../src/amqp-bus.ts'
import { BusUnavailableError, type Bus } from '../src/bus.ts'
import { createEnvelope, InvalidEnvelopeError, type EventEnvelope } from '../src/envelope.ts'
import { createMemoryBus } from '../src/memory-bus.ts'
import {
  createOutboxRelay,
  handleOnce,
  outboxMigration,
  pruneOutbox,
  writeEvent,
  type OutboxTables,
} from '../src/outbox.ts'

type Schema = OutboxTables & { notes: { id: string; body: string } }

const migrations: Record<string, Migration> = {
  '0001-outbox': outboxMigration,
  '0002-notes': {
    async up(db) {
      await db.schema
        .createTable('notes')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('body', 'text', (col) => col.notNull())
        .execute()
    },
  },
}

const databaseUrl = infraUrl('DATABASE_URL')
const amqpUrl = infraUrl('AMQP_URL')

type Open = (t: TestContext) => Promise<Database<Schema>>

// Opening PGlite costs more than a second, so its tests share one in-memory database and start
// by emptying it (they run one after another); PostgreSQL gets a database per test instead.
let pglite: Promise<Database<Schema>> | undefined
after(async () => {
  await (await pglite)?.close()
})
const openPGlite: Open = async () => {
  pglite ??= openDatabase<Schema>({ service: 'outbox', migrations })
  const database = await pglite
  await database.db.deleteFrom('outbox').execute()
  await database.db.deleteFrom('inbox').execute()
  await database.db.deleteFrom('notes').execute()
  return database
}

// A database per test: relays claim every due row of the table, so tests must not share one.
const openPostgres: Open = async (t) => {
  const url = uniqueDatabaseUrl(databaseUrl!, 'bus_outbox')
  const database = await openDatabase<Schema>({ service: 'outbox', url, migrations })
  t.after(async () => {
    await database.close()
    await dropDatabase(url)
  })
  return database
}

describeOutbox('pglite', openPGlite)
describeOutbox('postgres', openPostgres, { skip: !databaseUrl })

function describeOutbox(name: string, open: Open, opts: { skip?: boolean } = {}): void {
  describe(`${name}: outbox and inbox`, opts, () => {
    describe('writeEvent and the relay', () => {
      it('when the transaction that wrote an event rolls back, nothing is published', async (t) => {
        const { db } = await open(t)
        const { bus, received } = await listeningBus(t)
        const relay = createOutboxRelay({ db, bus })
        const rolledBack = event('auth.user.registered')

        const failing = inTransaction(db, async (trx) => {
          await trx.insertInto('notes').values({ id: rolledBack.id, body: 'x' }).execute()
          await writeEvent(trx, rolledBack)
          throw new Error('domain rule broken')
        })
        await assert.rejects(failing, /domain rule broken/)
        const nothing = await relay.flushOnce()
        const committed = event('auth.user.registered')
        await inTransaction(db, (trx) => writeEvent(trx, committed))
        const one = await relay.flushOnce()

        assert.deepEqual(nothing, { claimed: 0, published: 0, failed: 0 })
        assert.deepEqual(one, { claimed: 1, published: 1, failed: 0 })
        await waitUntil(() => received.length === 1)
        assert.deepEqual(received, [committed])
      })

      it('when the transaction commits, the running relay publishes the event once and marks it', async (t) => {
        const { db } = await open(t)
        const { bus, received } = await listeningBus(t)
        const relay = createOutboxRelay({ db, bus, idleMs: 60_000 })
        relay.start()
        t.after(() => relay.stop())
        const committed = event('license.license.activated', { license_id: 'l1' })

        await inTransaction(db, (trx) => writeEvent(trx, committed))
        // idleMs is a minute: only notify() can make this prompt.
        relay.notify()

        await waitUntil(() => received.length === 1, { what: 'the event on the bus' })
        await relay.stop()
        assert.deepEqual(received, [committed])
        const row = await db
          .selectFrom('outbox')
          .selectAll()
          .where('id', '=', committed.id)
          .executeTakeFirstOrThrow()
        assert.ok(row.published_at instanceof Date)
        assert.equal(row.attempts, 0)
        assert.deepEqual(row.envelope, committed)
        assert.deepEqual(await relay.flushOnce(), { claimed: 0, published: 0, failed: 0 })
        assert.equal(received.length, 1)
      })

      it('when an envelope is malformed, writeEvent rejects and the transaction rolls back', async (t) => {
        const { db } = await open(t)
        const bad = { ...event('auth.user.registered'), id: 'not-a-uuid' }

        const writing = inTransaction(db, async (trx) => {
          await trx.insertInto('notes').values({ id: 'n1', body: 'x' }).execute()
          await writeEvent(trx, bad)
        })

        await assert.rejects(writing, InvalidEnvelopeError)
        assert.deepEqual(await db.selectFrom('notes').selectAll().execute(), [])
        assert.deepEqual(await db.selectFrom('outbox').selectAll().execute(), [])
      })

      it('when the bus fails, rows stay with attempts and last_error, then go out once when it recovers', async (t) => {
        const { db } = await open(t)
        const { bus: inner, received } = await listeningBus(t)
        let down = true
        const bus: Pick<Bus, 'publish'> = {
          async publish(envelope, publishOpts) {
            if (down) throw new BusUnavailableError('amqp broker unreachable, reconnecting')
            await inner.publish(envelope, publishOpts)
          },
        }
        const relay = createOutboxRelay({ db, bus, idleMs: 10, retryBaseMs: 20, retryMaxMs: 40 })
        const events = [event('auth.login.failed'), event('auth.login.failed')]
        await inTransaction(db, async (trx) => {
          for (const e of events) await writeEvent(trx, e)
        })

        const first = await relay.flushOnce()
        const rowsAfterFirst = await outboxRows(db)
        relay.start()
        t.after(() => relay.stop())
        await waitUntil(async () => (await outboxRows(db)).every((r) => r.attempts >= 3), {
          what: 'three failed attempts per row',
        })
        down = false
        await waitUntil(async () => (await outboxRows(db)).every((r) => r.published_at !== null), {
          what: 'the rows to be published',
        })
        await relay.stop()

        assert.deepEqual(first, { claimed: 2, published: 0, failed: 2 })
        for (const row of rowsAfterFirst) {
          assert.equal(row.attempts, 1)
          assert.equal(row.published_at, null)
          assert.equal(row.last_error, 'amqp broker unreachable, reconnecting')
        }
        await waitUntil(() => received.length === 2)
        assert.deepEqual(received.map((e) => e.id).sort(), events.map((e) => e.id).sort())
      })

      it('when two relays run at once on one table, each of 200 events is published exactly once', async (t) => {
        const { db } = await open(t)
        const counts = new Map<string, number>()
        const perRelay = [0, 0]
        const busOf = (relay: number): Pick<Bus, 'publish'> => ({
          async publish(envelope) {
            counts.set(envelope.id, (counts.get(envelope.id) ?? 0) + 1)
            perRelay[relay]!++
            // Keeps each batch's transaction open for a moment, so the relays really overlap.
            await new Promise((resolve) => setTimeout(resolve, Math.random() * 3))
          },
        })
        const events = Array.from({ length: 200 }, (_, seq) => event('auth.login.failed', { seq }))
        for (let i = 0; i < events.length; i += 50) {
          await inTransaction(db, async (trx) => {
            for (const e of events.slice(i, i + 50)) await writeEvent(trx, e)
          })
        }
        const relays = [0, 1].map((i) =>
          createOutboxRelay({ db, bus: busOf(i), batchSize: 20, idleMs: 10 }),
        )

        for (const relay of relays) relay.start()
        t.after(() => Promise.all(relays.map((r) => r.stop())))
        await waitUntil(async () => (await outboxRows(db)).every((r) => r.published_at !== null), {
          timeoutMs: 15_000,
          what: '200 events published',
        })
        await Promise.all(relays.map((r) => r.stop()))

        assert.equal(counts.size, 200)
        assert.ok(
          perRelay.every((n) => n > 0),
          `one relay did all the work: ${perRelay}`,
        )
        assert.deepEqual(
          [...counts.entries()].filter(([, n]) => n !== 1),
          [],
        )
      })

      it('when rows are pruned, only those published or recorded before the cutoff go', async (t) => {
        const { db } = await open(t)
        const relay = createOutboxRelay({ db, bus: createMemoryBus() })
        const published = event('auth.login.failed')
        await inTransaction(db, (trx) => writeEvent(trx, published))
        await relay.flushOnce()
        const pending = event('auth.login.failed')
        await inTransaction(db, (trx) => writeEvent(trx, pending))
        await handleOnce(db, 'audit', published.id, async () => {})

        const kept = await pruneOutbox(db, { olderThanMs: 60_000 })
        const pruned = await pruneOutbox(db, { olderThanMs: 0 })

        assert.deepEqual(kept, { outbox: 0, inbox: 0 })
        assert.deepEqual(pruned, { outbox: 1, inbox: 1 })
        assert.deepEqual(
          (await outboxRows(db)).map((r) => r.id),
          [pending.id],
        )
      })
      it('when the relay runs, it prunes published rows and inbox records older than keepMs, and keeps what is not published', async (t) => {
        const { db } = await open(t)
        const stuck = event('auth.login.failed')
        const bus: Pick<Bus, 'publish'> = {
          async publish(envelope) {
            if (envelope.id === stuck.id) throw new Error('this one never goes out')
          },
        }
        const published = event('auth.login.failed')
        await inTransaction(db, async (trx) => {
          await writeEvent(trx, published)
          await writeEvent(trx, stuck)
        })
        await handleOnce(db, 'audit', published.id, async () => {})
        const relay = createOutboxRelay({ db, bus, idleMs: 10, keepMs: 0, pruneEveryMs: 20 })

        relay.start()
        t.after(() => relay.stop())
        await waitUntil(async () => (await outboxRows(db)).length === 1 && (await db.selectFrom('inbox').select('event_id').execute()).length === 0, {
          what: 'the published row and the inbox record to be pruned',
        })
        await relay.stop()

        const [left] = await outboxRows(db)
        assert.deepEqual({ id: left!.id, published: left!.published_at !== null }, { id: stuck.id, published: false })
      })
    })

    describe('handleOnce', () => {
      it('when the same event is delivered twice, fn runs once and its effect is stored once', async (t) => {
        const { db } = await open(t)
        const delivered = event('payments.subscription.activated')
        let calls = 0
        const apply = () =>
          handleOnce(db, 'license', delivered.id, async (trx) => {
            calls++
            await trx.insertInto('notes').values({ id: delivered.id, body: 'applied' }).execute()
          })

        const results = [await apply(), await apply()]

        assert.deepEqual(results, [true, false])
        assert.equal(calls, 1)
        assert.equal((await db.selectFrom('notes').selectAll().execute()).length, 1)
      })

      it('when another consumer handles the same event, it runs its own fn too', async (t) => {
        const { db } = await open(t)
        const delivered = event('payments.subscription.activated')

        const license = await handleOnce(db, 'license', delivered.id, async () => {})
        const audit = await handleOnce(db, 'audit', delivered.id, async () => {})

        assert.deepEqual([license, audit], [true, true])
      })

      it('when fn throws, its effects and the inbox row roll back, so the redelivery runs it', async (t) => {
        const { db } = await open(t)
        const delivered = event('payments.subscription.activated')
        let fail = true
        const apply = () =>
          handleOnce(db, 'license', delivered.id, async (trx) => {
            await trx.insertInto('notes').values({ id: delivered.id, body: 'applied' }).execute()
            if (fail) throw new Error('downstream hiccup')
          })

        await assert.rejects(apply(), /downstream hiccup/)
        const inboxAfterFailure = await db.selectFrom('inbox').selectAll().execute()
        fail = false
        const retried = await apply()

        assert.deepEqual(inboxAfterFailure, [])
        assert.equal(retried, true)
        assert.equal((await db.selectFrom('notes').selectAll().execute()).length, 1)
      })

      it('when two deliveries of one event race, fn runs once', async (t) => {
        const { db } = await open(t)
        const delivered = event('payments.subscription.activated')
        let calls = 0
        const apply = () =>
          handleOnce(db, 'license', delivered.id, async (trx) => {
            calls++
            await new Promise((resolve) => setTimeout(resolve, 30))
            await trx.insertInto('notes').values({ id: delivered.id, body: 'applied' }).execute()
          })

        const results = await Promise.all([apply(), apply()])

        assert.deepEqual(results.sort(), [false, true])
        assert.equal(calls, 1)
      })
    })
  })
}

describe('outbox through RabbitMQ', { skip: !amqpUrl }, () => {
  it('when an event commits, the relay publishes it with confirms and a subscriber gets it once', async (t) => {
    const { db } = await openPGlite(t)
    const bus = createAmqpBus({ url: amqpUrl! })
    const exchange = `test.bus.${randomBytes(4).toString('hex')}.outbox`
    const queue = `${exchange}.q`
    const received: EventEnvelope[] = []
    const subscription = await bus.subscribe(queue, ['#'], async (e) => void received.push(e), {
      exchange,
    })
    t.after(async () => {
      await subscription.close()
      await bus.deleteQueue(queue)
      await bus.deleteExchange(exchange)
      await bus.close()
    })
    const relay = createOutboxRelay({ db, bus, exchange })
    const committed = event('auth.user.registered')
    await inTransaction(db, (trx) => writeEvent(trx, committed))

    const result = await relay.flushOnce()

    assert.deepEqual(result, { claimed: 1, published: 1, failed: 0 })
    await waitUntil(() => received.length === 1, { what: 'the event from RabbitMQ' })
    assert.deepEqual(received, [committed])
  })
})

function event(type: string, data: Record<string, unknown> = {}): EventEnvelope {
  return createEnvelope({ type, source: 'test', data })
}

async function listeningBus(t: TestContext) {
  const bus = createMemoryBus()
  const received: EventEnvelope[] = []
  await bus.subscribe('outbox-test', ['#'], async (e) => void received.push(e))
  t.after(() => bus.close())
  return { bus, received }
}

function outboxRows(db: Database<Schema>['db']) {
  return db.selectFrom('outbox').selectAll().orderBy('created_at').execute()
}

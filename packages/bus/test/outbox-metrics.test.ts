import assert from 'node:assert/strict'
import { describe, it, type TestContext } from 'node:test'
import { inTransaction, openDatabase, type Database } from '@platform/db'
import { dropDatabase, uniqueDatabaseUrl } from '@platform/db/testing'
import { createMetrics, type Metrics } from '@platform/platform'
import { infraUrl, waitUntil } from '@platform/testkit/infra'
import { createEnvelope } from '../src/envelope.ts'
import { createMemoryBus } from '../src/memory-bus.ts'
import { createOutboxRelay, outboxMigration, writeEvent, type OutboxTables } from '../src/outbox.ts'

const databaseUrl = infraUrl('DATABASE_URL')

type Open = (t: TestContext) => Promise<Database<OutboxTables>>

const openPGlite: Open = async (t) => {
  const database = await openDatabase<OutboxTables>({ service: 'outbox-metrics', migrations: { '0001-outbox': outboxMigration } })
  t.after(() => database.close())
  return database
}

const openPostgres: Open = async (t) => {
  const url = uniqueDatabaseUrl(databaseUrl!, 'bus_outbox_metrics')
  const database = await openDatabase<OutboxTables>({ service: 'outbox-metrics', url, migrations: { '0001-outbox': outboxMigration } })
  t.after(async () => {
    await database.close()
    await dropDatabase(url)
  })
  return database
}

/** `outbox_lag_seconds` as a scrape of the registry reads it. */
async function lagOf(metrics: Metrics): Promise<number> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === 'outbox_lag_seconds')
  assert.ok(metric, 'outbox_lag_seconds is registered')
  const value = metric.values[0]?.value
  assert.equal(typeof value, 'number')
  return value!
}

describeLag('pglite', openPGlite)
describeLag('postgres', openPostgres, { skip: !databaseUrl })

function describeLag(name: string, open: Open, opts: { skip?: boolean } = {}): void {
  describe(`${name}: outbox_lag_seconds`, opts, () => {
    it('when the relay is stopped, the lag of an unpublished event rises; once it is published, the lag is 0', async (t) => {
      const { db } = await open(t)
      const bus = createMemoryBus()
      t.after(() => bus.close())
      const metrics = createMetrics('test')
      const relay = createOutboxRelay({ db, bus, metrics, idleMs: 20 })
      relay.start()
      await relay.stop()
      assert.equal(await lagOf(metrics), 0)

      await inTransaction(db, (trx) => writeEvent(trx, createEnvelope({ type: 'test.thing.happened', source: 'test', data: {} })))

      const first = await lagOf(metrics)
      await waitUntil(async () => (await lagOf(metrics)) > first + 0.5, { timeoutMs: 10_000, what: 'the lag to rise' })
      relay.start()
      t.after(() => relay.stop())
      await waitUntil(async () => (await lagOf(metrics)) === 0, { timeoutMs: 10_000, what: 'the lag back at 0' })
    })
  })
}

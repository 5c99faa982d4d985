import assert from 'node:assert/strict'
import { after, describe, it, type TestContext } from 'node:test'
import { Kysely, PostgresDialect, sql, type Migration } from 'kysely'
import pg from 'pg'
import { startTcpProxy } from '@platform/testkit'
import { infraUrl, waitUntil } from '@platform/testkit/infra'
import { describeDatabaseContract } from '../src/db.contract.ts'
import { databaseNameOf } from '../src/database-url.ts'
import { openDatabase } from '../src/open-database.ts'
import { kyselyPool } from '../src/postgres-pool.ts'
import { andCommit, inTransaction } from '../src/transaction.ts'
import { dropDatabase, uniqueDatabaseUrl } from '../src/testing.ts'

const url = infraUrl('DATABASE_URL')
const contractUrl = url ? uniqueDatabaseUrl(url, 'db_contract') : undefined

describeDatabaseContract(
  'postgres',
  (migrations) => openDatabase({ service: 'contract', url: contractUrl, migrations }),
  { skip: !url },
)
after(async () => {
  if (contractUrl) await dropDatabase(contractUrl)
})

describe('openDatabase on PostgreSQL', { skip: !url }, () => {
  it('when two processes open a brand-new database at once, both succeed and migrate once', async (t) => {
    const dbUrl = uniqueDatabaseUrl(url!, 'db_race')
    t.after(() => dropDatabase(dbUrl))
    let upCalls = 0
    const migrations: Record<string, Migration> = {
      '0001-create-things': {
        async up(db) {
          upCalls += 1
          // A plain CREATE TABLE fails if it runs twice, so only the migration lock can make
          // both opens succeed; the pause keeps the second replica waiting on that lock.
          await db.schema.createTable('things').addColumn('id', 'integer').execute()
          await sql`select pg_sleep(0.2)`.execute(db)
        },
      },
    }

    const opened = await Promise.all([
      openDatabase({ service: 'race', url: dbUrl, migrations }),
      openDatabase({ service: 'race', url: dbUrl, migrations }),
    ])
    t.after(() => Promise.all(opened.map((database) => database.close())))

    assert.deepEqual(
      opened.map((database) => database.kind),
      ['postgres', 'postgres'],
    )
    assert.equal(upCalls, 1)
    const applied = await sql<{ name: string }>`select name from kysely_migration`.execute(
      opened[0]!.db,
    )
    assert.deepEqual(applied.rows, [{ name: '0001-create-things' }])
  })

  it('when the server ends its idle connections, the process survives and the next query reconnects', async (t) => {
    const dbUrl = uniqueDatabaseUrl(url!, 'db_restart')
    t.after(() => dropDatabase(dbUrl))
    const lines: string[] = []
    const database = await openDatabase({
      service: 'restart',
      url: dbUrl,
      migrations: {},
      log: { info: (_obj, msg) => lines.push(msg ?? '') },
    })
    t.after(() => database.close())
    await database.ping()

    const admin = new pg.Client({ connectionString: url })
    await admin.connect()
    t.after(() => admin.end())
    await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [
      databaseNameOf(dbUrl),
    ])

    await waitUntil(() => lines.includes('idle database connection lost'), {
      what: 'the pool to report the lost connection',
    })
    await database.ping()
  })

  it('when the server ends a connection held by a transaction between two statements, the process survives, the transaction fails and the next query reconnects', async (t) => {
    const dbUrl = uniqueDatabaseUrl(url!, 'db_in_tx')
    t.after(() => dropDatabase(dbUrl))
    const database = await openDatabase({ service: 'in-tx', url: dbUrl, migrations: {} })
    t.after(() => database.close())
    const admin = new pg.Client({ connectionString: url })
    await admin.connect()
    t.after(() => admin.end())
    // An 'error' no one listens to would end this test process, not just fail the test.
    let uncaught: unknown
    const onUncaught = (error: unknown) => (uncaught = error)
    process.on('uncaughtException', onUncaught)
    t.after(() => process.off('uncaughtException', onUncaught))

    const transaction = database.db.transaction().execute(async (trx) => {
      const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx)
      await admin.query('select pg_terminate_backend($1)', [rows[0]!.pid])
      // The server's goodbye arrives while no statement is running on this connection.
      await new Promise((resolve) => setTimeout(resolve, 200))
      await sql`select 1`.execute(trx)
    })

    await assert.rejects(transaction)
    await database.ping()
    assert.equal(uncaught, undefined)
  })

  it('when a transaction runs, its BEGIN travels with its first statement: one round trip less, none without statements', async (t) => {
    const dbUrl = uniqueDatabaseUrl(url!, 'db_begin')
    t.after(() => dropDatabase(dbUrl))
    const target = new URL(url!)
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) })
    t.after(() => proxy.close())
    const viaProxy = new URL(dbUrl)
    viaProxy.hostname = '127.0.0.1'
    viaProxy.port = String(proxy.port)
    const database = await openDatabase({ service: 'begin', url: viaProxy.toString(), migrations: {} })
    t.after(() => database.close())
    await sql`create table seen (id int primary key)`.execute(database.db)
    const chunksOf = async (work: () => Promise<unknown>) => {
      const before = proxy.sentChunks()
      await work()
      return proxy.sentChunks() - before
    }

    // BEGIN + INSERT, then COMMIT: two round trips where BEGIN alone used to take one more.
    const written = await chunksOf(() => inTransaction(database.db, (trx) => sql`insert into seen values (${1})`.execute(trx)))
    const idle = await chunksOf(() => inTransaction(database.db, async () => 'nothing to do'))

    assert.deepEqual({ written, idle }, { written: 2, idle: 0 })
    const { rows } = await sql<{ id: number }>`select id from seen`.execute(database.db)
    assert.deepEqual(rows, [{ id: 1 }])
  })

  describe('COMMIT with the last statement (andCommit)', () => {
    /** A database reached through a TCP proxy that counts the writes sent, and a direct admin connection. */
    const openCounted = async (t: TestContext) => {
      const dbUrl = uniqueDatabaseUrl(url!, 'db_commit')
      const target = new URL(url!)
      const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) })
      const viaProxy = new URL(dbUrl)
      viaProxy.hostname = '127.0.0.1'
      viaProxy.port = String(proxy.port)
      const database = await openDatabase({ service: 'commit', url: viaProxy.toString(), migrations: {} })
      const admin = new pg.Client({ connectionString: dbUrl })
      await admin.connect()
      t.after(async () => {
        await admin.end()
        await database.close()
        await proxy.close()
        await dropDatabase(dbUrl)
      })
      const writesOf = async (work: () => Promise<unknown>) => {
        const before = proxy.sentChunks()
        await work()
        return proxy.sentChunks() - before
      }
      return { db: database.db, admin, writesOf }
    }

    it('when the last statement is marked, COMMIT leaves with it: one write per transaction less, and the change is committed before the transaction\'s function returns', async (t) => {
      const { db, admin, writesOf } = await openCounted(t)
      await sql`create table seen (id int primary key)`.execute(db)
      const seenElsewhere = async (id: number) => (await admin.query('select id from seen where id = $1', [id])).rowCount === 1

      const alone = await writesOf(() => inTransaction(db, (trx) => sql`insert into seen values (${1}) ${andCommit}`.execute(trx)))
      let visibleBeforeReturn: boolean | undefined
      const two = await writesOf(() =>
        inTransaction(db, async (trx) => {
          await sql`insert into seen values (${2})`.execute(trx)
          await sql`insert into seen values (${3}) ${andCommit}`.execute(trx)
          visibleBeforeReturn = await seenElsewhere(3)
        }),
      )
      const unmarked = await writesOf(() => inTransaction(db, (trx) => sql`insert into seen values (${4})`.execute(trx)))

      assert.deepEqual({ alone, two, unmarked }, { alone: 1, two: 2, unmarked: 2 })
      assert.equal(visibleBeforeReturn, true)
      const { rows } = await admin.query('select id from seen order by id')
      assert.deepEqual(rows, [{ id: 1 }, { id: 2 }, { id: 3 }, { id: 4 }])
    })

    it('when the COMMIT itself fails (a deferred constraint), the statement rejects with its error, nothing is committed and the connection works on', async (t) => {
      const { db, admin } = await openCounted(t)
      await sql`create table codes (code text, constraint codes_code unique (code) deferrable initially deferred)`.execute(db)
      await sql`insert into codes values ('taken')`.execute(db)
      // The pool keeps one connection for this sequence, so "works on" is about that one.
      const failing = inTransaction(db, async (trx) => {
        await sql`insert into codes values (${'fresh'})`.execute(trx)
        // The duplicate is only checked at COMMIT.
        await sql`insert into codes values (${'taken'}) ${andCommit}`.execute(trx)
      })

      await assert.rejects(failing, { code: '23505', constraint: 'codes_code' })
      const next = await inTransaction(db, (trx) => sql<{ code: string }>`insert into codes values (${'next'}) returning code ${andCommit}`.execute(trx))
      assert.deepEqual(next.rows, [{ code: 'next' }])
      const { rows } = await admin.query('select code from codes order by code')
      assert.deepEqual(rows, [{ code: 'next' }, { code: 'taken' }])
    })

    it('when a statement follows the marked one in its transaction, it is refused rather than run outside the transaction', async (t) => {
      const { db, admin } = await openCounted(t)
      await sql`create table seen (id int primary key)`.execute(db)

      const misuse = inTransaction(db, async (trx) => {
        await sql`insert into seen values (${1}) ${andCommit}`.execute(trx)
        await sql`insert into seen values (${2})`.execute(trx)
      })

      await assert.rejects(misuse, /after the one marked andCommit/)
      // The marked statement had committed; the refused one never ran.
      const { rows } = await admin.query('select id from seen order by id')
      assert.deepEqual(rows, [{ id: 1 }])
    })
  })

  describe('prepared statements', () => {
    /** A kysely on one connection of its own (the statements a connection keeps are per connection). */
    const openOneConnection = async (t: TestContext, preparedStatements?: number) => {
      const dbUrl = uniqueDatabaseUrl(url!, 'db_prepared')
      const admin = new pg.Client({ connectionString: url })
      await admin.connect()
      await admin.query(`create database ${pg.escapeIdentifier(databaseNameOf(dbUrl))}`)
      await admin.end()
      const pool = new pg.Pool({ connectionString: dbUrl, max: 1 })
      const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: kyselyPool(pool, { preparedStatements }) }) })
      t.after(async () => {
        await db.destroy()
        await dropDatabase(dbUrl)
      })
      const prepared = async () => {
        const { rows } = await sql<{ statement: string; runs: number }>`select statement, (generic_plans + custom_plans)::int as runs from pg_prepared_statements order by prepare_time`.execute(db)
        return rows
      }
      return { db, prepared }
    }

    it('when a statement runs again, the connection runs the statement it prepared the first time', async (t) => {
      const { db, prepared } = await openOneConnection(t)

      for (let i = 0; i < 3; i++) await inTransaction(db, (trx) => sql`select ${i}::int as i`.execute(trx))
      for (let i = 0; i < 2; i++) await sql`select ${i}::int as i`.execute(db)

      assert.deepEqual(await prepared(), [{ statement: 'select $1::int as i', runs: 5 }])
    })

    it('when a connection has as many as it keeps, the least recently used one is closed', async (t) => {
      const { db, prepared } = await openOneConnection(t, 2)

      await sql`select ${1}::int as a`.execute(db)
      await sql`select ${1}::int as b`.execute(db)
      await sql`select ${1}::int as a`.execute(db)
      await sql`select ${1}::int as c`.execute(db)

      assert.deepEqual(
        (await prepared()).map((p) => p.statement),
        ['select $1::int as a', 'select $1::int as c'],
      )
    })

    it('when a migration changes what a prepared statement returns, it is prepared again; only a transaction that ran statements before it fails, once', async (t) => {
      const { db } = await openOneConnection(t)
      await sql`create table things (id int primary key)`.execute(db)
      await sql`insert into things values (1)`.execute(db)
      const read = (executor: Kysely<unknown>) => sql<Record<string, unknown>>`select * from things where id = ${1}`.execute(executor).then((r) => r.rows)
      const migrate = (column: string) => sql`alter table things add column ${sql.ref(column)} int not null default 0`.execute(db)
      await read(db)

      await migrate('alone')
      const alone = await read(db)
      await migrate('first')
      const first = await inTransaction(db, (trx) => read(trx))
      await migrate('later')
      const later = inTransaction(db, async (trx) => {
        await sql`insert into things (id) values (${2})`.execute(trx)
        return read(trx)
      })

      assert.deepEqual(alone, [{ id: 1, alone: 0 }])
      assert.deepEqual(first, [{ id: 1, alone: 0, first: 0 }])
      // The error @platform/platform's isDependencyOutage answers with 503 and Retry-After.
      await assert.rejects(later, { code: '0A000', message: /cached plan must not change result type/ })
      assert.deepEqual(await inTransaction(db, (trx) => read(trx)), [{ id: 1, alone: 0, first: 0, later: 0 }])
      assert.deepEqual(await sql`select id from things`.execute(db).then((r) => r.rows), [{ id: 1 }])
    })

    it('when pg cannot encode a parameter, that query fails and the statement works with the next one', async (t) => {
      const { db } = await openOneConnection(t)
      // In a transaction, where a statement the server lost could not simply be retried.
      const echo = (value: unknown) => inTransaction(db, (trx) => sql<{ v: unknown }>`select ${value}::jsonb as v`.execute(trx)).then((r) => r.rows[0]!.v)
      const unencodable = { big: 1n }

      await assert.rejects(echo(unencodable), /BigInt/)
      assert.deepEqual(await echo({ n: 1 }), { n: 1 })
      await assert.rejects(echo(unencodable), /BigInt/)
      assert.deepEqual(await echo({ n: 2 }), { n: 2 })
    })
  })

  it('when a migration fails, rejects with its name and leaves no pool open', async (t) => {
    const dbUrl = uniqueDatabaseUrl(url!, 'db_failing')
    t.after(() => dropDatabase(dbUrl))
    const migrations: Record<string, Migration> = {
      '0001-broken': {
        async up(db) {
          await sql`select * from no_such_table`.execute(db)
        },
      },
    }

    await assert.rejects(
      openDatabase({ service: 'failing', url: dbUrl, migrations }),
      /failing: migration 0001-broken failed: relation "no_such_table" does not exist/,
    )

    const admin = new pg.Client({ connectionString: url })
    await admin.connect()
    t.after(() => admin.end())
    const { rows } = await admin.query(
      'select count(*)::int as n from pg_stat_activity where datname = $1',
      [databaseNameOf(dbUrl)],
    )
    assert.deepEqual(rows, [{ n: 0 }])
  })
})

import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, describe, it } from 'node:test'
import { sql, type ColumnType, type Generated, type Kysely, type Migration } from 'kysely'
import type { Database } from './open-database.ts'
import { andCommit, inTransaction } from './transaction.ts'

type ContractSchema = {
  contract_items: {
    id: Generated<string>
    key: string
    doc: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>
    at: Date | null
  }
  contract_counters: { id: string; n: number }
  kysely_migration: { name: string; timestamp: string }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/**
 * The behaviour every database behind `openDatabase` must have, run once per engine (PGlite in
 * memory and on disk, PostgreSQL): migrations, rollback, row locks, concurrency, types.
 *
 * `open` receives the suite's migrations and must reach the same store on every call of one run
 * (a PostgreSQL database of its own, such as `uniqueDatabaseUrl(url, 'db_contract')`, or one
 * PGlite data directory), since the suite checks that reopening applies nothing twice. Set
 * `ephemeral` when each open starts empty (in-memory PGlite) to skip that check. `skip` is
 * handed to `describe`.
 *
 * @example
 * const url = infraUrl('DATABASE_URL')
 * const dbUrl = url && uniqueDatabaseUrl(url, 'db_contract')
 * describeDatabaseContract('postgres', (migrations) => openDatabase({ service: 'contract', url: dbUrl, migrations }), { skip: !url })
 * after(() => dbUrl && dropDatabase(dbUrl))
 */
export function describeDatabaseContract(
  name: string,
  // The suite brings its own schema, so the caller's DB type parameter cannot matter here.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  open: (migrations: Record<string, Migration>) => Promise<Database<any>>,
  opts: { skip?: boolean; ephemeral?: boolean } = {},
): void {
  const upCalls = new Map<string, number>()
  const counted = (migrationName: string, up: (db: Kysely<unknown>) => Promise<void>) => ({
    async up(db: Kysely<unknown>) {
      upCalls.set(migrationName, (upCalls.get(migrationName) ?? 0) + 1)
      await up(db)
    },
  })
  const migrations: Record<string, Migration> = {
    '0001-create-contract-items': counted('0001-create-contract-items', async (db) => {
      await db.schema
        .createTable('contract_items')
        .addColumn('id', 'uuid', (col) => col.primaryKey().defaultTo(sql`gen_random_uuid()`))
        .addColumn('key', 'text', (col) => col.notNull().unique())
        .addColumn('doc', 'jsonb')
        .addColumn('at', 'timestamptz')
        .execute()
    }),
    '0002-create-contract-counters': counted('0002-create-contract-counters', async (db) => {
      await db.schema
        .createTable('contract_counters')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('n', 'integer', (col) => col.notNull())
        .execute()
    }),
  }

  async function openContractDb(t: { after(fn: () => Promise<void>): void }) {
    const database = await open(migrations)
    t.after(() => database.close())
    return database.db as Kysely<ContractSchema>
  }

  // Opening PGlite costs about a second, so the tests after the two migration tests share one
  // open database. It opens only after those two closed theirs: two PGlite instances must never
  // hold the same data directory at once.
  let shared: Promise<Database<unknown>> | undefined
  function sharedDatabase() {
    shared ??= open(migrations)
    return shared
  }
  async function sharedDb() {
    return (await sharedDatabase()).db as Kysely<ContractSchema>
  }

  describe(`${name}: database contract`, { skip: opts.skip }, () => {
    after(async () => {
      await (await shared)?.close()
    })

    it(
      'when opened twice, runs each migration once and the second open applies nothing',
      { skip: opts.ephemeral ? 'each open of this store starts empty' : false },
      async (t) => {
        const first = await open(migrations)
        await first.close()

        const db = await openContractDb(t)

        const applied = await db
          .selectFrom('kysely_migration')
          .select('name')
          .orderBy('name')
          .execute()
        assert.deepEqual(
          applied.map((row) => row.name),
          Object.keys(migrations).sort(),
        )
        assert.deepEqual([...upCalls.values()], [1, 1])
      },
    )

    it('when a migration fails, open rejects naming it and keeps none of its changes', async (t) => {
      const broken: Record<string, Migration> = {
        ...migrations,
        '0003-broken': {
          async up(db) {
            await db.schema.createTable('contract_half_done').addColumn('id', 'integer').execute()
            await sql`select no_such_column from contract_half_done`.execute(db)
          },
        },
      }

      await assert.rejects(open(broken), /0003-broken/)

      const db = await openContractDb(t)
      const tables = await db.introspection.getTables()
      assert.equal(
        tables.some((table) => table.name === 'contract_half_done'),
        false,
      )
    })

    it('when a statement fails inside a transaction, everything in it is rolled back', async () => {
      const db = await sharedDb()
      const key = randomUUID()

      const failing = inTransaction(db, async (trx) => {
        await trx.insertInto('contract_items').values({ key }).execute()
        await trx.insertInto('contract_counters').values({ id: key, n: 1 }).execute()
        await trx.insertInto('contract_items').values({ key }).execute()
      })

      await assert.rejects(failing, (err: { code?: string }) => err.code === '23505')
      const items = await db
        .selectFrom('contract_items')
        .select('id')
        .where('key', '=', key)
        .execute()
      const counters = await db
        .selectFrom('contract_counters')
        .select('id')
        .where('id', '=', key)
        .execute()
      assert.deepEqual([items, counters], [[], []])
    })

    it('when the first statement of a transaction fails, nothing of it stays and the next transaction works', async () => {
      const db = await sharedDb()
      const key = randomUUID()
      await db.insertInto('contract_items').values({ key }).execute()

      const failing = inTransaction(db, async (trx) => {
        await trx.insertInto('contract_items').values({ key }).execute()
        await trx.insertInto('contract_counters').values({ id: key, n: 1 }).execute()
      })

      await assert.rejects(failing, (err: { code?: string }) => err.code === '23505')
      const after = await inTransaction(db, (trx) => trx.insertInto('contract_counters').values({ id: `${key}-after`, n: 2 }).returning('n').execute())
      assert.deepEqual(after, [{ n: 2 }])
      const counters = await db.selectFrom('contract_counters').select('id').where('id', 'in', [key, `${key}-after`]).execute()
      assert.deepEqual(counters, [{ id: `${key}-after` }])
    })

    it('when a transaction\'s last statement is marked andCommit, the transaction commits as any other; when that statement fails, nothing of it stays', async () => {
      const db = await sharedDb()
      const key = randomUUID()

      const committed = await inTransaction(db, async (trx) => {
        await trx.insertInto('contract_counters').values({ id: key, n: 1 }).execute()
        return trx.insertInto('contract_items').values({ key }).returning('key').modifyEnd(andCommit).execute()
      })
      const alone = await inTransaction(db, (trx) => sql<{ n: number }>`update contract_counters set n = n + 1 where id = ${key} returning n ${andCommit}`.execute(trx))
      const failing = inTransaction(db, async (trx) => {
        await trx.insertInto('contract_counters').values({ id: `${key}-failed`, n: 1 }).execute()
        await trx.insertInto('contract_items').values({ key }).modifyEnd(andCommit).execute()
      })

      await assert.rejects(failing, (err: { code?: string }) => err.code === '23505')
      assert.deepEqual(committed, [{ key }])
      assert.deepEqual(alone.rows, [{ n: 2 }])
      const counters = await db.selectFrom('contract_counters').select(['id', 'n']).where('id', 'in', [key, `${key}-failed`]).execute()
      assert.deepEqual(counters, [{ id: key, n: 2 }])
      // Outside a transaction the mark is a comment.
      const plain = await sql<{ one: number }>`select ${1}::int as one ${andCommit}`.execute(db)
      assert.deepEqual(plain.rows, [{ one: 1 }])
    })

    it('when a transaction runs statements with and without parameters, all run in it, at the isolation level asked for', async () => {
      const db = await sharedDb()
      type Seen = { xid: string; level: string }
      const seen = await db
        .transaction()
        .setIsolationLevel('serializable')
        .execute(async (trx) => {
          const first = await sql<Seen>`select txid_current()::text as xid, current_setting('transaction_isolation') as level, ${1}::int as one`.execute(trx)
          const second = await sql<Seen>`select txid_current()::text as xid, current_setting('transaction_isolation') as level`.execute(trx)
          return [first.rows[0]!, second.rows[0]!].map(({ xid, level }) => ({ xid, level }))
        })
      assert.equal(seen[0]!.level, 'serializable')
      assert.deepEqual(seen[1], seen[0])

      const plainFirst = await inTransaction(db, async (trx) => {
        const first = await sql<Seen>`select txid_current()::text as xid`.execute(trx)
        const second = await sql<Seen>`select txid_current()::text as xid, ${1}::int as one`.execute(trx)
        return [first.rows[0]!.xid, second.rows[0]!.xid]
      })
      assert.equal(plainFirst[1], plainFirst[0])
    })

    it('when a transaction runs no statement, it resolves or rejects as its function did', async () => {
      const db = await sharedDb()

      assert.equal(await inTransaction(db, async () => 42), 42)
      await assert.rejects(
        inTransaction(db, async () => {
          throw new Error('changed my mind')
        }),
        /changed my mind/,
      )
      const rows = await sql<{ one: number }>`select ${1}::int as one`.execute(db)
      assert.deepEqual(rows.rows, [{ one: 1 }])
    })

    it('when two transactions lock the same row FOR UPDATE and increment it, it ends at +2', async () => {
      const db = await sharedDb()
      const id = randomUUID()
      await db.insertInto('contract_counters').values({ id, n: 0 }).execute()
      // Two overlapping queries make a pool open a second connection now, so both transactions
      // below start at once instead of the second one waiting for a connect.
      await Promise.all([1, 2].map(() => sql`select pg_sleep(0.05)`.execute(db)))
      const increment = () =>
        inTransaction(db, async (trx) => {
          const row = await trx
            .selectFrom('contract_counters')
            .select('n')
            .where('id', '=', id)
            .forUpdate()
            .executeTakeFirstOrThrow()
          // Hold the row for a moment: without the lock the other transaction reads the same n
          // meanwhile and one increment is lost (checked: n ends at 1 without FOR UPDATE on pg).
          await new Promise((resolve) => setTimeout(resolve, 50))
          await trx
            .updateTable('contract_counters')
            .set({ n: row.n + 1 })
            .where('id', '=', id)
            .execute()
        })

      await Promise.all([increment(), increment()])

      const { n } = await db
        .selectFrom('contract_counters')
        .select('n')
        .where('id', '=', id)
        .executeTakeFirstOrThrow()
      assert.equal(n, 2)
    })

    it('when 20 queries and transactions run concurrently, all of them succeed', async () => {
      const db = await sharedDb()
      const prefix = randomUUID()

      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          i % 2 === 0
            ? sql<{ n: number }>`select ${i}::int as n`.execute(db).then((r) => r.rows[0]?.n)
            : inTransaction(db, async (trx) => {
                await trx
                  .insertInto('contract_counters')
                  .values({ id: `${prefix}-${i}`, n: i })
                  .execute()
                const row = await trx
                  .selectFrom('contract_counters')
                  .select('n')
                  .where('id', '=', `${prefix}-${i}`)
                  .executeTakeFirstOrThrow()
                return row.n
              }),
        ),
      )

      assert.deepEqual(
        results,
        Array.from({ length: 20 }, (_, i) => i),
      )
    })

    it('when jsonb and timestamptz values are stored, they read back equal', async () => {
      const db = await sharedDb()
      const doc = { plan: 'pro', seats: 5, nested: { list: [1, 'two', null] }, active: true }
      const at = new Date('2024-02-29T23:59:58.123Z')

      const { id } = await db
        .insertInto('contract_items')
        .values({ key: randomUUID(), doc: JSON.stringify(doc), at })
        .returning('id')
        .executeTakeFirstOrThrow()
      const row = await db
        .selectFrom('contract_items')
        .select(['doc', 'at'])
        .where('id', '=', id)
        .executeTakeFirstOrThrow()

      assert.deepEqual(row.doc, doc)
      assert.ok(row.at instanceof Date)
      assert.equal(row.at.toISOString(), at.toISOString())
    })

    it('when a row is inserted without an id, gen_random_uuid() fills it', async () => {
      const db = await sharedDb()

      const { id } = await db
        .insertInto('contract_items')
        .values({ key: randomUUID() })
        .returning('id')
        .executeTakeFirstOrThrow()

      assert.match(id, UUID)
    })

    it('when an insert conflicts with ON CONFLICT DO NOTHING, it returns no row', async () => {
      const db = await sharedDb()
      const key = randomUUID()
      const insert = () =>
        db
          .insertInto('contract_items')
          .values({ key })
          .onConflict((oc) => oc.column('key').doNothing())
          .returning('id')
          .executeTakeFirst()

      const first = await insert()
      const second = await insert()

      assert.match(first?.id ?? '', UUID)
      assert.equal(second, undefined)
    })

    it('when rows are updated or deleted, the result counts them', async () => {
      const db = await sharedDb()
      const prefix = randomUUID()
      const ids = [1, 2, 3].map((i) => `${prefix}-${i}`)
      const inserted = await db
        .insertInto('contract_counters')
        .values(ids.map((id) => ({ id, n: 0 })))
        .executeTakeFirstOrThrow()

      const updated = await db
        .updateTable('contract_counters')
        .set({ n: 1 })
        .where('id', 'in', ids)
        .executeTakeFirstOrThrow()
      const deleted = await db
        .deleteFrom('contract_counters')
        .where('id', '=', ids[0]!)
        .executeTakeFirstOrThrow()

      assert.deepEqual(
        [inserted.numInsertedOrUpdatedRows, updated.numUpdatedRows, deleted.numDeletedRows],
        [3n, 3n, 1n],
      )
    })

    it('when count(*) is selected, it comes back as a string, as node-postgres returns int8', async () => {
      const db = await sharedDb()

      const row = await db
        .selectFrom('contract_items')
        .select((eb) => eb.fn.countAll().as('count'))
        .executeTakeFirstOrThrow()

      assert.equal(typeof row.count, 'string')
    })

    it('when the database is reachable, ping resolves', async () => {
      const database = await sharedDatabase()

      await database.ping()
    })
  })
}

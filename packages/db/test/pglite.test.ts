import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { sql, type Migration } from 'kysely'
import { describeDatabaseContract } from '../src/db.contract.ts'
import { openDatabase } from '../src/open-database.ts'

let dataDir = ''
before(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'db-pglite-'))
})
after(() => rm(dataDir, { recursive: true, force: true }))

describeDatabaseContract(
  'pglite in memory',
  (migrations) => openDatabase({ service: 'contract', migrations }),
  { ephemeral: true },
)

describeDatabaseContract('pglite on disk', (migrations) =>
  openDatabase({ service: 'contract', dataDir, migrations }),
)

type NotesSchema = { notes: { id: number; body: string } }

const notesMigrations: Record<string, Migration> = {
  '0001-create-notes': {
    async up(db) {
      await db.schema
        .createTable('notes')
        .addColumn('id', 'integer', (col) => col.primaryKey())
        .addColumn('body', 'text', (col) => col.notNull())
        .execute()
    },
  },
}

describe('openDatabase on PGlite', () => {
  it('when reopened on the same data dir, finds what was written before', async (t) => {
    const first = await openDatabase<NotesSchema>({
      service: 'notes',
      dataDir,
      migrations: notesMigrations,
    })
    await first.db.insertInto('notes').values({ id: 1, body: 'kept' }).execute()
    await first.close()

    const second = await openDatabase<NotesSchema>({
      service: 'notes',
      dataDir,
      migrations: notesMigrations,
    })
    t.after(() => second.close())
    const rows = await second.db.selectFrom('notes').selectAll().execute()

    assert.equal(second.kind, 'pglite')
    assert.deepEqual(rows, [{ id: 1, body: 'kept' }])
    assert.ok((await readdir(path.join(dataDir, 'notes'))).includes('PG_VERSION'))
  })

  it('when no data dir is given, each open is a fresh in-memory database', async (t) => {
    const first = await openDatabase<NotesSchema>({ service: 'notes', migrations: notesMigrations })
    t.after(() => first.close())
    await first.db.insertInto('notes').values({ id: 1, body: 'gone' }).execute()

    const second = await openDatabase<NotesSchema>({
      service: 'notes',
      migrations: notesMigrations,
    })
    t.after(() => second.close())
    const rows = await second.db.selectFrom('notes').selectAll().execute()

    assert.deepEqual(rows, [])
  })

  it('when migrations are applied, logs each one by name', async (t) => {
    const lines: { obj: object; msg?: string }[] = []
    const log = { info: (obj: object, msg?: string) => lines.push({ obj, msg }) }

    const database = await openDatabase({ service: 'notes', migrations: notesMigrations, log })
    t.after(() => database.close())

    assert.deepEqual(lines[0], {
      obj: { service: 'notes', migration: '0001-create-notes' },
      msg: 'migration applied',
    })
  })

  it('when a transaction uses savepoints, rolling back to one keeps what came before', async (t) => {
    const database = await openDatabase<NotesSchema>({
      service: 'notes',
      migrations: notesMigrations,
    })
    t.after(() => database.close())

    const trx = await database.db.startTransaction().execute()
    await trx.insertInto('notes').values({ id: 1, body: 'before' }).execute()
    const inner = await trx.savepoint('inner').execute()
    await inner.insertInto('notes').values({ id: 2, body: 'undone' }).execute()
    await inner.rollbackToSavepoint('inner').execute()
    await inner.commit().execute()

    const rows = await database.db.selectFrom('notes').select('id').execute()
    assert.deepEqual(rows, [{ id: 1 }])
  })

  it('when the service name could escape the data dir, refuses to open', async () => {
    await assert.rejects(
      openDatabase({ service: '../elsewhere', dataDir, migrations: notesMigrations }),
      /invalid service name/,
    )
  })

  it('when a query is streamed, yields every row', async (t) => {
    const database = await openDatabase({ service: 'notes', migrations: notesMigrations })
    t.after(() => database.close())

    const rows: number[] = []
    const query = database.db.selectNoFrom(sql<number>`generate_series(1, 5)`.as('n'))
    for await (const row of query.stream(2)) rows.push(row.n)

    assert.deepEqual(rows, [1, 2, 3, 4, 5])
  })
})

import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import { PGlite, types } from '@electric-sql/pglite'
import { Kysely, Migrator, PostgresDialect, sql, type Migration } from 'kysely'
import pg from 'pg'
import { databaseNameOf, withDatabaseName } from './database-url.ts'
import { kyselyPool } from './postgres-pool.ts'
import { PGliteDialect } from './pglite-dialect.ts'

/**
 * How to open one service's database: a PostgreSQL `url` (see `databaseUrlFor`), or, without
 * one, embedded PGlite under `${dataDir}/${service}` (in memory when `dataDir` is absent too).
 * `migrations` maps sortable names (`'0001-create-users'`) to kysely migrations, applied in name
 * order at every open. `DB` only ties the options to the `Database<DB>` they open.
 */
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- see `DB` above
export type DatabaseOptions<DB> = {
  service: string
  url?: string
  dataDir?: string
  migrations: Record<string, Migration>
  log?: { info(obj: object, msg?: string): void }
}

/**
 * An open, migrated database: the kysely instance, which engine is behind it, a readiness probe
 * for `/readyz`, and `close()` that ends the pool or closes PGlite.
 */
export type Database<DB> = {
  db: Kysely<DB>
  kind: 'postgres' | 'pglite'
  ping(): Promise<void>
  close(): Promise<void>
}

const POOL_MAX = 10
const CONNECT_TIMEOUT_MS = 3000
const MAINTENANCE_DATABASE = 'postgres'
const SERVICE_NAME = /^[a-z][a-z0-9_-]*$/i

/**
 * Opens the service's database and brings its schema to the latest migration.
 *
 * With `url`, the database is created when missing (several replicas may race to do so; the
 * loser carries on), then served by a `pg.Pool` of 10. Without it, PGlite runs in process. Kysely's
 * migration lock (a PostgreSQL advisory lock) lets several replicas start at once: one applies
 * the migrations, the others wait and find nothing left to do. A failed migration closes the
 * database and rejects with an error naming the migration.
 *
 * @example
 * const database = await openDatabase<Schema>({
 *   service: 'license',
 *   url: databaseUrlFor('license', process.env),
 *   dataDir: config.dataDir,
 *   migrations: { '0001-create-licenses': createLicenses },
 *   log,
 * })
 */
export async function openDatabase<DB>(opts: DatabaseOptions<DB>): Promise<Database<DB>> {
  if (!SERVICE_NAME.test(opts.service)) {
    throw new Error(`invalid service name ${JSON.stringify(opts.service)} for a database`)
  }
  const { db, kind } = opts.url
    ? await openPostgres<DB>(opts.url, opts.log)
    : await openPGlite<DB>(opts)
  try {
    await migrate(db, opts)
  } catch (err) {
    await db.destroy()
    throw err
  }
  opts.log?.info({ service: opts.service, kind }, 'database ready')
  return {
    db,
    kind,
    async ping() {
      await sql`select 1`.execute(db)
    },
    async close() {
      await db.destroy()
    },
  }
}

async function openPostgres<DB>(
  url: string,
  log: DatabaseOptions<DB>['log'],
): Promise<{ db: Kysely<DB>; kind: 'postgres' }> {
  await createDatabaseIfMissing(url, log)
  const pool = new pg.Pool({
    connectionString: url,
    max: POOL_MAX,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  })
  // An idle client whose server went away emits 'error' on the pool; unhandled, that event kills
  // the process. The pool drops the client and the next query reconnects, so logging is enough.
  pool.on('error', (err) => log?.info({ err: errorSummary(err) }, 'idle database connection lost'))
  // A client checked out of the pool has no listener of the pool's: if the server goes away while
  // the client sits in a transaction between two statements, its 'error' would kill the process.
  // The next statement on it fails and reports to its caller; on release the pool drops it.
  pool.on('connect', (client) => client.on('error', () => {}))
  return { db: new Kysely<DB>({ dialect: new PostgresDialect({ pool: kyselyPool(pool) }) }), kind: 'postgres' }
}

async function openPGlite<DB>(
  opts: DatabaseOptions<DB>,
): Promise<{ db: Kysely<DB>; kind: 'pglite' }> {
  // node-postgres returns int8 (count(*), bigserial) as a string; PGlite would return a number.
  // Matching pg here keeps code that passes its tests on PGlite correct on a real server.
  const parsers = { [types.INT8]: (value: string) => value }
  let pglite: PGlite
  if (opts.dataDir === undefined) {
    pglite = await PGlite.create({ loadDataDir: await emptyCluster(), parsers })
  } else {
    const dataDir = path.resolve(opts.dataDir, opts.service)
    await mkdir(dataDir, { recursive: true })
    pglite = await PGlite.create({ dataDir, parsers })
  }
  return { db: new Kysely<DB>({ dialect: new PGliteDialect({ pglite }) }), kind: 'pglite' }
}

let emptyClusterDump: Promise<Blob> | undefined

// initdb dominates the start of an in-memory PGlite (seconds, against about half that to load a
// dump), and test suites open one per test; so initdb runs once per process and later opens
// start from a copy of that untouched cluster.
function emptyCluster(): Promise<Blob> {
  emptyClusterDump ??= (async () => {
    const template = await PGlite.create()
    try {
      return await template.dumpDataDir('none')
    } finally {
      await template.close()
    }
  })()
  emptyClusterDump.catch(() => {
    emptyClusterDump = undefined
  })
  return emptyClusterDump
}

async function createDatabaseIfMissing(
  url: string,
  log: DatabaseOptions<unknown>['log'],
): Promise<void> {
  const name = databaseNameOf(url)
  // Probe the database itself first: a role may own its database without any right on the
  // maintenance database, and then it must never need one.
  const probe = newClient(url)
  try {
    await probe.connect()
    await probe.end()
    return
  } catch (err) {
    if (errorCode(err) !== '3D000') throw err
  }
  const admin = newClient(withDatabaseName(url, MAINTENANCE_DATABASE))
  await admin.connect()
  try {
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`)
    log?.info({ database: name }, 'database created')
  } catch (err) {
    // Another replica created it between our probe and our CREATE: 42P04 duplicate_database, or
    // 23505 when both inserts reach pg_database's unique index at the same moment.
    const code = errorCode(err)
    if (code !== '42P04' && code !== '23505') throw err
  } finally {
    await admin.end()
  }
}

function newClient(url: string): pg.Client {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  })
  // A server restart while this short-lived client is open must reject its query, not crash us.
  client.on('error', () => {})
  return client
}

async function migrate<DB>(db: Kysely<DB>, opts: DatabaseOptions<DB>): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => opts.migrations },
  })
  const { error, results = [] } = await migrator.migrateToLatest()
  for (const result of results) {
    if (result.status === 'Success') {
      opts.log?.info(
        { service: opts.service, migration: result.migrationName },
        'migration applied',
      )
    }
  }
  if (error) {
    const failed = results.find((result) => result.status === 'Error')?.migrationName
    const where = failed ? `migration ${failed}` : 'migrations'
    throw new Error(`${opts.service}: ${where} failed: ${errorSummary(error)}`, { cause: error })
  }
}

function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined
}

function errorSummary(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

// The baseline of the refresh and payments figures: raw single-row PostgreSQL transactions
// (BEGIN, one-row INSERT, COMMIT) on the same server, at the figure's concurrency, in the same run.
// The INSERT is prepared once per connection, as the platform's own statements are.
// One function, so every figure set against it measures it the same way.
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { dropDatabase, uniqueDatabaseUrl } from '@platform/db/testing'

/** Runs one loop per state for `seconds`, each step feeding the next; returns steps per second. */
export async function ratePerSecond<T>(seconds: number, states: T[], step: (state: T) => Promise<T>): Promise<number> {
  const started = performance.now()
  let steps = 0
  await Promise.all(
    states.map(async (initial) => {
      let state = initial
      while (performance.now() - started < seconds * 1000) {
        state = await step(state)
        steps++
      }
    }),
  )
  return steps / ((performance.now() - started) / 1000)
}

/**
 * Single-row transactions per second on the server of `databaseUrl`, `concurrency` connections
 * each running BEGIN; INSERT one row (a prepared statement); COMMIT for `seconds`, in a scratch
 * database dropped after.
 */
export async function measureRawTxRate(opts: { databaseUrl: string; seconds: number; concurrency: number }): Promise<number> {
  const url = uniqueDatabaseUrl(opts.databaseUrl, 'raw_tx_bench')
  const admin = new pg.Client({ connectionString: opts.databaseUrl })
  await admin.connect()
  try {
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(new URL(url).pathname.slice(1))}`)
  } finally {
    await admin.end()
  }
  const pool = new pg.Pool({ connectionString: url, max: opts.concurrency })
  // `pool.end()` resolves before its clients' sockets are closed, so the DROP … WITH (FORCE) below
  // can end a session that is still closing; unheard, that 'error' on an idle client kills the
  // process. A failure during the measurement rejects the query in flight and still fails the run.
  pool.on('error', () => undefined)
  try {
    await pool.query('CREATE TABLE bench_tx (id bigserial PRIMARY KEY, value text NOT NULL)')
    const clients = await Promise.all(Array.from({ length: opts.concurrency }, () => pool.connect()))
    try {
      return await ratePerSecond(opts.seconds, clients, async (client) => {
        await client.query('BEGIN')
        await client.query({ name: 'bench_insert', text: 'INSERT INTO bench_tx (value) VALUES ($1)', values: [randomBytes(16).toString('hex')] })
        await client.query('COMMIT')
        return client
      })
    } finally {
      for (const client of clients) client.release()
    }
  } finally {
    await pool.end()
    await dropDatabase(url).catch(() => undefined)
  }
}

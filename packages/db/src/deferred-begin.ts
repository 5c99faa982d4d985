import type { PostgresPool, PostgresPoolClient } from 'kysely'
import pg from 'pg'

/**
 * A `pg.Pool` for kysely whose transactions cost one round trip less: the BEGIN kysely sends is
 * held back and goes out in the same write as the transaction's first statement, in one extended
 * protocol exchange (one Sync), so the server answers both at once. Npgsql does the same.
 *
 * Nothing a transaction can observe changes: its snapshot is taken by its first statement in any
 * case, and an error in either message makes the server skip the rest up to the Sync, so the
 * statement never runs outside the transaction. A transaction that runs no statement sends
 * neither BEGIN nor COMMIT. A first statement without parameters (kysely's savepoints,
 * multi-statement scripts of migrations) goes out after a BEGIN of its own, as before.
 */
export function deferBegin(pool: pg.Pool): PostgresPool {
  // One wrapper per pooled connection, made once: kysely checks a connection out for every query.
  const wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>()
  return {
    async connect() {
      const client = await pool.connect()
      let wrapper = wrappers.get(client)
      if (!wrapper) wrappers.set(client, (wrapper = deferredBeginClient(client)))
      return wrapper
    },
    end: () => pool.end(),
  }
}

/** What kysely reads of a pg result. */
type Result = { command: string; rowCount: number | null; rows: unknown[] }

const BEGIN = /^(?:begin|start transaction(?: [a-z ]+)?)$/i
const END = /^(?:commit|rollback)$/i
const answered = (command: string): Promise<Result> => Promise.resolve({ command, rowCount: null, rows: [] })

function deferredBeginClient(client: pg.PoolClient): PostgresPoolClient {
  let heldBegin: string | undefined
  const query = (text: string, parameters: readonly unknown[]): Promise<Result> => {
    const begin = heldBegin
    if (begin === undefined) {
      if (!BEGIN.test(text)) return client.query(text, parameters as unknown[])
      heldBegin = text
      return answered('BEGIN')
    }
    heldBegin = undefined
    if (END.test(text)) return answered(text.toUpperCase())
    if (parameters.length === 0) return client.query(begin).then(() => client.query(text, []))
    return submit(client, new BeginThenQuery(begin, text, parameters))
  }
  return {
    query: query as PostgresPoolClient['query'],
    release() {
      heldBegin = undefined
      client.release()
    },
  }
}

/** What of a pg connection a query writes to; the messages of one `submit` leave in one write. */
type Connection = {
  parse(msg: { text: string }): void
  bind(msg: object): void
  execute(msg: object): void
}

type QueryInternals = {
  prepare(connection: Connection): void
  handleCommandComplete(msg: unknown, connection: Connection): void
}

const Query = pg.Query as unknown as new (config: { text: string; values: unknown[]; queryMode: 'extended'; callback(err: Error | undefined, result: Result): void }) => QueryInternals

/**
 * pg's own query, with the held BEGIN parsed, bound and executed ahead of it in the same
 * exchange. BEGIN returns no rows; its completion is the first one the server sends, and is not
 * the caller's result.
 */
class BeginThenQuery extends Query {
  #begin: string | undefined
  readonly settled: Promise<Result>

  constructor(begin: string, text: string, parameters: readonly unknown[]) {
    let resolve!: (result: Result) => void
    let reject!: (err: Error) => void
    const settled = new Promise<Result>((res, rej) => {
      resolve = res
      reject = rej
    })
    super({ text, values: [...parameters], queryMode: 'extended', callback: (err, result) => (err ? reject(err) : resolve(result)) })
    this.#begin = begin
    this.settled = settled
  }

  override prepare(connection: Connection): void {
    connection.parse({ text: this.#begin! })
    connection.bind({})
    connection.execute({})
    super.prepare(connection)
  }

  override handleCommandComplete(msg: unknown, connection: Connection): void {
    if (this.#begin !== undefined) {
      this.#begin = undefined
      return
    }
    super.handleCommandComplete(msg, connection)
  }
}

function submit(client: pg.PoolClient, query: BeginThenQuery): Promise<Result> {
  ;(client as unknown as { query(submittable: unknown): unknown }).query(query)
  return query.settled
}

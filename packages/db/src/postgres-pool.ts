import type { PostgresPool, PostgresPoolClient } from 'kysely'
import pg from 'pg'
import { PreparedStatements } from './prepared-statements.ts'
import { COMMIT_MARK } from './transaction.ts'

/** How many statements each connection keeps prepared (pgx keeps 512, Npgsql as configured). */
const PREPARED_STATEMENTS_PER_CONNECTION = 100

/**
 * A `pg.Pool` for kysely that saves the server work and round trips every service repeats:
 *
 * - **Prepared statements.** A connection parses and plans a parameterised statement once, under
 *   a name, and afterwards only binds and executes it, as Npgsql's automatic preparation and pgx's
 *   statement cache do. Each connection keeps the `preparedStatements` it used last (kysely's
 *   statements differ only in their parameters, so a service has a few dozen). A statement whose
 *   cached plan went stale (a migration changed what `select *` returns) is prepared afresh and,
 *   when nothing ran before it (alone, or first in its transaction), retried at once; after other
 *   statements of its transaction, that transaction fails once.
 * - **BEGIN travels with the first statement.** The BEGIN kysely sends is held back and goes
 *   out in the same write as the transaction's first statement, in one extended-protocol
 *   exchange (one Sync), so the server answers both at once. Nothing a transaction can observe
 *   changes: its snapshot is taken by its first statement in any case, and an error in either
 *   message makes the server skip the rest up to the Sync, so the statement never runs outside
 *   the transaction. A transaction that runs no statement sends neither BEGIN nor COMMIT.
 * - **COMMIT travels with the last statement** when that statement ends with `andCommit`
 *   (`transaction.ts`): COMMIT follows it in the same exchange, and kysely's own COMMIT, once the
 *   transaction's function returns, is answered here. The server skips the COMMIT if the statement
 *   fails, so the transaction then rolls back as any other.
 *
 * Statements without parameters (savepoints, migrations' scripts) go out as before, unprepared.
 */
export function kyselyPool(pool: pg.Pool, opts: { preparedStatements?: number } = {}): PostgresPool {
  const capacity = opts.preparedStatements ?? PREPARED_STATEMENTS_PER_CONNECTION
  // One wrapper per pooled connection, made once: kysely checks a connection out for every query.
  const wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>()
  return {
    async connect() {
      const client = await pool.connect()
      let wrapper = wrappers.get(client)
      if (!wrapper) wrappers.set(client, (wrapper = wrapClient(client, new PreparedStatements(capacity))))
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

/**
 * Whether the server refused to run a prepared statement before running it: its cached plan
 * went stale (a migration changed what `select *` returns) or the statement is gone.
 */
function isUnusableStatement(error: unknown): boolean {
  const { code, message } = error as { code?: unknown; message?: unknown }
  return code === '26000' || (code === '0A000' && /cached plan must not change result type/.test(String(message)))
}

/** An error raised in this process before the server answered (a parameter pg cannot encode). */
const isClientSide = (error: unknown): boolean => (error as { code?: unknown }).code === undefined

function wrapClient(client: pg.PoolClient, statements: PreparedStatements): PostgresPoolClient {
  let heldBegin: string | undefined
  let inTransaction = false
  // The transaction was ended by the COMMIT of a statement marked `andCommit`.
  let endedEarly = false

  const send = async (begin: string | undefined, text: string, parameters: readonly unknown[], commit: boolean): Promise<Result> => {
    const name = statements.nameOf(text)
    // What naming this one gave up is closed in the same write.
    const query = new PipelinedQuery({ begin, close: statements.takeClosed(), name, text, parameters, commit })
    try {
      return await submit(client, query)
    } finally {
      if (query.committing) endedEarly = true
    }
  }

  const query = async (text: string, parameters: readonly unknown[]): Promise<Result> => {
    const begin = heldBegin
    heldBegin = undefined
    if (begin === undefined && BEGIN.test(text)) {
      heldBegin = text
      inTransaction = true
      return answered('BEGIN')
    }
    if (END.test(text)) {
      inTransaction = false
      // Nothing to end: no statement ran, or the marked one's COMMIT ended the transaction.
      if (begin !== undefined || endedEarly) {
        endedEarly = false
        return answered(text.toUpperCase())
      }
    }
    // It would run outside the transaction, which its author did not mean.
    if (endedEarly) throw new Error('a statement after the one marked andCommit, in a transaction that statement ended')
    if (parameters.length === 0) {
      if (begin !== undefined) await client.query(begin)
      return client.query(text)
    }
    // Alone or first in its transaction, nothing has run before it that a retry would repeat.
    const first = !inTransaction || begin !== undefined
    const commit = inTransaction && text.trimEnd().endsWith(COMMIT_MARK)
    try {
      return await send(begin, text, parameters, commit)
    } catch (error) {
      const unusable = isUnusableStatement(error)
      // pg may have closed the statement or never prepared it; a fresh name is the safe way on.
      if (unusable || isClientSide(error)) statements.forget(text)
      if (!unusable || !first) throw error
      // The server refused the statement before running it, so it can simply go again.
      if (begin !== undefined) await client.query('ROLLBACK')
      return send(begin, text, parameters, commit)
    }
  }
  return {
    query: query as PostgresPoolClient['query'],
    release() {
      heldBegin = undefined
      inTransaction = false
      endedEarly = false
      client.release()
    },
  }
}

/** What of a pg connection a query writes to; the messages of one `submit` leave in one write. */
type Connection = {
  parsedStatements: Record<string, string>
  submittedNamedStatements: Record<string, string>
  close(msg: { type: 'S'; name: string }): void
  parse(msg: { text: string }): void
  bind(msg: object): void
  execute(msg: object): void
  sync(): void
}

type QueryInternals = {
  prepare(connection: Connection): void
  _getRows(connection: Connection, rows: number | undefined): void
  handleCommandComplete(msg: unknown, connection: Connection): void
}

type QueryConfig = { name: string; text: string; values: unknown[]; queryMode: 'extended'; callback(err: Error | undefined, result: Result): void }
const Query = pg.Query as unknown as new (config: QueryConfig) => QueryInternals

/**
 * pg's own query of a named (prepared) statement, which pg parses only the first time on a
 * connection, with three things written around it in the same exchange: ahead of it, the closing
 * of statements given up and a held BEGIN; after it, a COMMIT when asked. Closing answers with
 * CloseComplete, which pg ignores; BEGIN and COMMIT return no rows, and their completions (the
 * first and the last the server sends) are not the caller's result.
 */
class PipelinedQuery extends Query {
  #begin: string | undefined
  readonly #commit: boolean
  /** The statement completed and its COMMIT is under way: the transaction is over, committed or not. */
  committing = false
  readonly #close: readonly string[]
  readonly settled: Promise<Result>

  constructor(opts: { begin: string | undefined; close: readonly string[]; name: string; text: string; parameters: readonly unknown[]; commit: boolean }) {
    let resolve!: (result: Result) => void
    let reject!: (err: Error) => void
    const settled = new Promise<Result>((res, rej) => {
      resolve = res
      reject = rej
    })
    super({ name: opts.name, text: opts.text, values: [...opts.parameters], queryMode: 'extended', callback: (err, result) => (err ? reject(err) : resolve(result)) })
    this.#begin = opts.begin
    this.#commit = opts.commit
    this.#close = opts.close
    this.settled = settled
  }

  override prepare(connection: Connection): void {
    for (const name of this.#close) {
      connection.close({ type: 'S', name })
      delete connection.parsedStatements[name]
      delete connection.submittedNamedStatements[name]
    }
    if (this.#begin !== undefined) {
      connection.parse({ text: this.#begin })
      connection.bind({})
      connection.execute({})
    }
    super.prepare(connection)
  }

  /** Where pg executes the statement and ends the exchange: a COMMIT goes in between. */
  override _getRows(connection: Connection, rows: number | undefined): void {
    if (!this.#commit) return super._getRows(connection, rows)
    connection.execute({})
    connection.parse({ text: 'COMMIT' })
    connection.bind({})
    connection.execute({})
    connection.sync()
  }

  override handleCommandComplete(msg: unknown, connection: Connection): void {
    if (this.#begin !== undefined) {
      this.#begin = undefined
      return
    }
    if (this.committing) return
    this.committing = this.#commit
    super.handleCommandComplete(msg, connection)
  }
}

function submit(client: pg.PoolClient, query: PipelinedQuery): Promise<Result> {
  ;(client as unknown as { query(submittable: unknown): unknown }).query(query)
  return query.settled
}

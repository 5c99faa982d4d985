import { sql, type Kysely, type Transaction } from 'kysely'

/**
 * What a repository function takes as its first argument: the database or an open transaction,
 * so the caller decides whether the call joins a unit of work (kysely example `lockUserById(trx, id)`).
 */
export type Executor<DB> = Kysely<DB> | Transaction<DB>

/** A function that runs `fn` in one transaction, as domain code receives it in its deps. */
export type RunInTransaction<DB> = <T>(fn: (trx: Transaction<DB>) => Promise<T>) => Promise<T>

/**
 * Runs `fn` in a transaction that commits when it resolves and rolls back when it rejects (the
 * rejection is passed on). On PGlite, code inside must use `trx`, not `db`: the one connection
 * is held by the transaction until it ends.
 *
 * @example
 * const activation = await inTransaction(db, async (trx) => {
 *   const license = await lockByKeyHash(trx, keyHash)
 *   return addMachine(trx, license.id, fingerprint)
 * })
 */
export function inTransaction<DB, T>(
  db: Kysely<DB>,
  fn: (trx: Transaction<DB>) => Promise<T>,
): Promise<T> {
  return db.transaction().execute(fn)
}

/** The SQL comment {@link andCommit} appends; the PostgreSQL pool (`postgres-pool.ts`) looks for it. */
export const COMMIT_MARK = '/* and commit */'

/**
 * Ends a transaction's last statement (`.modifyEnd(andCommit)`, or `${andCommit}` last in a
 * `sql` template): on PostgreSQL its COMMIT leaves in the same write and comes back in the same
 * answer, one round trip less per transaction. If the statement fails, the server skips the COMMIT
 * and the transaction rolls back as usual; if the COMMIT fails (a deferred constraint), the
 * statement rejects with that error and nothing was committed. It must be the last statement: one
 * after it in the same transaction is refused. On PGlite, or outside a transaction, it is only a
 * comment.
 *
 * @example
 * await inTransaction(db, async (trx) => {
 *   const license = await lockByKeyHash(trx, keyHash)
 *   await trx.insertInto('machines').values(machineOf(license, fingerprint)).modifyEnd(andCommit).execute()
 * })
 */
export const andCommit = sql.raw(COMMIT_MARK)

import type { Kysely, Transaction } from 'kysely'

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

/** Rows one statement deletes at most, so a table neglected for long never takes one long lock. */
const DELETE_CHUNK = 5_000

/**
 * Runs a DELETE of at most `limit` rows until one deletes fewer; returns how many went in all.
 * Housekeeping of tables that grow (expired sessions, published outbox rows) uses it, so each
 * statement stays short whatever the backlog.
 *
 * @example
 * await deleteInChunks((limit) =>
 *   sql`delete from outbox where id in (select id from outbox where published_at < ${cutoff} limit ${limit})`.execute(db),
 * )
 */
export async function deleteInChunks(deleteChunk: (limit: number) => Promise<{ numAffectedRows?: bigint }>, limit = DELETE_CHUNK): Promise<number> {
  let deleted = 0
  for (;;) {
    const n = Number((await deleteChunk(limit)).numAffectedRows ?? 0)
    deleted += n
    if (n < limit) return deleted
  }
}

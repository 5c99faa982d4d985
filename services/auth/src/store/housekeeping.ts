import { sql, type Kysely } from 'kysely'
import { deleteInChunks } from '@platform/db'
import type { LinkTokenTable } from './link-tokens.ts'
import type { AuthDatabase } from './schema.ts'

/** How long an expired session (with its refresh tokens) or link token stays, for a recent incident. */
export const EXPIRED_KEEP_MS = 86_400_000

export type Pruned = { sessions: number; revocations: number; linkTokens: number }

/**
 * Deletes what can never be used again, so auth's tables do not grow without bound: sessions
 * expired more than {@link EXPIRED_KEEP_MS} ago (their refresh tokens go with them), e-mail link
 * tokens expired as long, and revocations no longer in force (the lists in the store and their
 * restores read only those still in force). Each table a few thousand rows per statement.
 */
export async function pruneExpired(db: Kysely<AuthDatabase>, now: Date): Promise<Pruned> {
  const kept = new Date(now.getTime() - EXPIRED_KEEP_MS)
  const sessions = await deleteInChunks((limit) =>
    sql`delete from sessions where id in (select id from sessions where expires_at < ${kept} limit ${limit})`.execute(db),
  )
  const revocations = await deleteInChunks((limit) =>
    sql`delete from revocations where seq in (select seq from revocations where expires_at <= ${now} limit ${limit})`.execute(db),
  )
  let linkTokens = 0
  for (const table of ['email_verification_tokens', 'password_reset_tokens'] satisfies LinkTokenTable[]) {
    linkTokens += await deleteInChunks((limit) =>
      sql`delete from ${sql.table(table)} where id in (select id from ${sql.table(table)} where expires_at < ${kept} limit ${limit})`.execute(db),
    )
  }
  return { sessions, revocations, linkTokens }
}

import type { Executor } from '@platform/db'
import type { AuthDatabase } from './schema.ts'

type Db = Executor<AuthDatabase>

/** The tables of single-use e-mail link tokens, stored hashed; both have the same columns. */
export type LinkTokenTable = 'email_verification_tokens' | 'password_reset_tokens'

export async function insertLinkToken(
  db: Db,
  table: LinkTokenTable,
  row: { id: string; userId: string; tokenHash: string; expiresAt: Date },
): Promise<void> {
  await db
    .insertInto(table)
    .values({ id: row.id, user_id: row.userId, token_hash: row.tokenHash, expires_at: row.expiresAt, used_at: null })
    .execute()
}

/**
 * Marks the token used if it is unused and unexpired, in one conditional UPDATE: of two
 * concurrent uses of one token exactly one gets its user back, the other undefined (as does a
 * bad, used or expired token).
 */
export async function consumeLinkToken(db: Db, table: LinkTokenTable, tokenHash: string, now: Date): Promise<string | undefined> {
  const row = await db
    .updateTable(table)
    .set({ used_at: now })
    .where('token_hash', '=', tokenHash)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .returning('user_id')
    .executeTakeFirst()
  return row?.user_id
}

import type { Executor } from '@platform/db'
import type { AuthDatabase } from './schema.ts'

type Db = Executor<AuthDatabase>

export async function insertEmailVerificationToken(
  db: Db,
  row: { id: string; userId: string; tokenHash: string; expiresAt: Date },
): Promise<void> {
  await db
    .insertInto('email_verification_tokens')
    .values({ id: row.id, user_id: row.userId, token_hash: row.tokenHash, expires_at: row.expiresAt, used_at: null })
    .execute()
}

/**
 * Marks the token used if it is unused and unexpired, atomically (two concurrent uses: one wins);
 * returns its user, or undefined for a bad, used or expired token.
 */
export async function consumeEmailVerificationToken(db: Db, tokenHash: string, now: Date): Promise<string | undefined> {
  const row = await db
    .updateTable('email_verification_tokens')
    .set({ used_at: now })
    .where('token_hash', '=', tokenHash)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .returning('user_id')
    .executeTakeFirst()
  return row?.user_id
}

export async function markEmailVerified(db: Db, userId: string): Promise<boolean> {
  const result = await db.updateTable('users').set({ email_verified: true }).where('id', '=', userId).executeTakeFirst()
  return result.numUpdatedRows > 0n
}

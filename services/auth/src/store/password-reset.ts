import type { Executor } from '@platform/db'
import type { AuthDatabase } from './schema.ts'

type Db = Executor<AuthDatabase>

/** Spends every unused reset token of the user (a newer request supersedes them); returns how many. */
export async function spendPasswordResetTokens(db: Db, userId: string, now: Date): Promise<number> {
  const result = await db
    .updateTable('password_reset_tokens')
    .set({ used_at: now })
    .where('user_id', '=', userId)
    .where('used_at', 'is', null)
    .executeTakeFirst()
  return Number(result.numUpdatedRows)
}

/** A reset token that still works at `now`, with the account it resets; undefined otherwise. */
export async function findUsablePasswordResetToken(
  db: Db,
  tokenHash: string,
  now: Date,
): Promise<{ userId: string; email: string; disabled: boolean } | undefined> {
  const row = await db
    .selectFrom('password_reset_tokens as t')
    .innerJoin('users as u', 'u.id', 't.user_id')
    .select(['u.id', 'u.email', 'u.disabled'])
    .where('t.token_hash', '=', tokenHash)
    .where('t.used_at', 'is', null)
    .where('t.expires_at', '>', now)
    .executeTakeFirst()
  return row && { userId: row.id, email: row.email, disabled: row.disabled }
}

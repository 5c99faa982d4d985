import type { Executor } from '@platform/db'
import type { AuthDatabase } from './schema.ts'

type Db = Executor<AuthDatabase>

export async function insertPasswordResetToken(
  db: Db,
  row: { id: string; userId: string; tokenHash: string; expiresAt: Date },
): Promise<void> {
  await db
    .insertInto('password_reset_tokens')
    .values({ id: row.id, user_id: row.userId, token_hash: row.tokenHash, expires_at: row.expiresAt, used_at: null })
    .execute()
}

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

/**
 * Marks the token used if it is unused and unexpired, in one conditional UPDATE: of two
 * concurrent resets with the same token exactly one gets the user back, the other undefined.
 */
export async function consumePasswordResetToken(db: Db, tokenHash: string, now: Date): Promise<string | undefined> {
  const row = await db
    .updateTable('password_reset_tokens')
    .set({ used_at: now })
    .where('token_hash', '=', tokenHash)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .returning('user_id')
    .executeTakeFirst()
  return row?.user_id
}

import type { Executor } from '@platform/db'
import type { AuthDatabase, RefreshTokenRow, SessionRow } from './schema.ts'

type Db = Executor<AuthDatabase>

export async function insertSession(
  db: Db,
  session: { id: string; userId: string; expiresAt: Date; userAgent: string | null; ipHint: string | null; now: Date },
): Promise<void> {
  await db
    .insertInto('sessions')
    .values({
      id: session.id,
      user_id: session.userId,
      created_at: session.now,
      last_used_at: session.now,
      expires_at: session.expiresAt,
      user_agent: session.userAgent,
      ip_hint: session.ipHint,
    })
    .execute()
}

/** Locks the session row: every refresh of one family runs one after the other. */
export async function lockSession(db: Db, id: string): Promise<SessionRow | undefined> {
  return db.selectFrom('sessions').selectAll().where('id', '=', id).forUpdate().executeTakeFirst()
}

export async function touchSession(db: Db, id: string, now: Date): Promise<void> {
  await db.updateTable('sessions').set({ last_used_at: now }).where('id', '=', id).execute()
}

/** Marks sessions revoked; returns the ids that were still active. */
export async function revokeSessions(db: Db, where: { sessionId?: string; userId?: string }, now: Date): Promise<string[]> {
  let query = db.updateTable('sessions').set({ revoked_at: now }).where('revoked_at', 'is', null)
  if (where.sessionId) query = query.where('id', '=', where.sessionId)
  if (where.userId) query = query.where('user_id', '=', where.userId)
  const rows = await query.returning('id').execute()
  return rows.map((r) => r.id)
}

export async function insertRefreshToken(
  db: Db,
  token: { id: string; sessionId: string; tokenHash: string; parentId: string | null; expiresAt: Date; now: Date },
): Promise<void> {
  await db
    .insertInto('refresh_tokens')
    .values({
      id: token.id,
      session_id: token.sessionId,
      token_hash: token.tokenHash,
      parent_id: token.parentId,
      created_at: token.now,
      expires_at: token.expiresAt,
    })
    .execute()
}

export async function findRefreshTokenByHash(db: Db, tokenHash: string): Promise<RefreshTokenRow | undefined> {
  return db.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst()
}

export async function findSuccessor(db: Db, parentId: string): Promise<RefreshTokenRow | undefined> {
  return db.selectFrom('refresh_tokens').selectAll().where('parent_id', '=', parentId).executeTakeFirst()
}

export async function markRefreshTokenUsed(db: Db, id: string, now: Date): Promise<void> {
  await db.updateTable('refresh_tokens').set({ used_at: now }).where('id', '=', id).execute()
}

import { sql } from 'kysely'
import type { Executor } from '@platform/db'
import type { AuthDatabase, RefreshTokenRow, SessionRow } from './schema.ts'
import type { User } from './users.ts'

type Db = Executor<AuthDatabase>

/**
 * Opens a session in one statement (one round trip, committed on its own): the session row, its
 * first refresh token and the outbox row of the event that reports it; and reads the
 * user's not-before instant (seconds, 0 if none) from the revocation records, as the rotation
 * does, for the access token's `iat`.
 */
export async function openSessionRecord(
  db: Db,
  input: {
    session: { id: string; userId: string; expiresAt: Date; userAgent: string | null; ipHint: string | null }
    token: { id: string; tokenHash: string }
    outboxRow: { id: string; envelope: string }
    now: Date
  },
): Promise<{ notBefore: number }> {
  const { session, token, now } = input
  const row = await db
    .with('session', (qc) =>
      qc.insertInto('sessions').values({
        id: session.id,
        user_id: session.userId,
        created_at: now,
        last_used_at: now,
        expires_at: session.expiresAt,
        user_agent: session.userAgent,
        ip_hint: session.ipHint,
      }),
    )
    .with('token', (qc) =>
      qc.insertInto('refresh_tokens').values({ id: token.id, session_id: session.id, token_hash: token.tokenHash, parent_id: null, created_at: now, expires_at: session.expiresAt }),
    )
    .with('written', (qc) => qc.insertInto('outbox').values(input.outboxRow))
    .selectNoFrom(
      sql<string | null>`(select max(r.data::bigint) from revocations r
        where r.expires_at > ${now} and ((r.kind = 'user_nbf' and r.value = ${session.userId}) or (r.kind = 'global_nbf' and r.value = 'global')))`.as('not_before'),
    )
    .executeTakeFirstOrThrow()
  return { notBefore: Number(row.not_before ?? 0) }
}

/** Locks the session row: every refresh of one family runs one after the other. */
export async function lockSession(db: Db, id: string): Promise<SessionRow | undefined> {
  return db.selectFrom('sessions').selectAll().where('id', '=', id).forUpdate().executeTakeFirst()
}

/**
 * Marks sessions revoked; returns the ids that were still active. With no `sessionId` and no
 * `userId` every session is revoked (incident response).
 */
export async function revokeSessions(
  db: Db,
  where: { sessionId?: string; userId?: string; exceptSessionId?: string; all?: true },
  now: Date,
): Promise<string[]> {
  if (!where.sessionId && !where.userId && !where.all) throw new Error('revokeSessions needs a session, a user, or all: true')
  let query = db.updateTable('sessions').set({ revoked_at: now }).where('revoked_at', 'is', null)
  if (where.sessionId) query = query.where('id', '=', where.sessionId)
  if (where.userId) query = query.where('user_id', '=', where.userId)
  if (where.exceptSessionId) query = query.where('id', '!=', where.exceptSessionId)
  const rows = await query.returning('id').execute()
  return rows.map((r) => r.id)
}

/** A session as `/auth/sessions` shows it. */
export type SessionSummary = {
  id: string
  createdAt: Date
  lastUsedAt: Date
  userAgent: string | null
  ipHint: string | null
}

/** A user's sessions neither revoked nor expired at `now`, newest first, after the cursor id. */
export async function listActiveSessions(
  db: Db,
  userId: string,
  now: Date,
  page: { limit: number; beforeId?: string },
): Promise<SessionSummary[]> {
  let query = db
    .selectFrom('sessions')
    .select(['id', 'created_at', 'last_used_at', 'user_agent', 'ip_hint'])
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
  if (page.beforeId) query = query.where('id', '<', page.beforeId)
  const rows = await query.orderBy('id', 'desc').limit(page.limit).execute()
  return rows.map((row) => ({
    id: row.id,
    createdAt: new Date(row.created_at),
    lastUsedAt: new Date(row.last_used_at),
    userAgent: row.user_agent,
    ipHint: row.ip_hint,
  }))
}

/** Locks one of the user's sessions that is neither revoked nor expired, if there is one. */
export async function lockActiveSessionOf(db: Db, userId: string, sessionId: string, now: Date): Promise<SessionRow | undefined> {
  return db
    .selectFrom('sessions')
    .selectAll()
    .where('id', '=', sessionId)
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .forUpdate()
    .executeTakeFirst()
}

export async function findRefreshTokenByHash(db: Db, tokenHash: string): Promise<RefreshTokenRow | undefined> {
  return db.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst()
}

export async function findSuccessor(db: Db, parentId: string): Promise<RefreshTokenRow | undefined> {
  return db.selectFrom('refresh_tokens').selectAll().where('parent_id', '=', parentId).executeTakeFirst()
}

/** What one successful rotation hands back: enough to sign the new access token. */
export type Rotation = {
  sessionId: string
  user: Pick<User, 'id' | 'roles' | 'emailVerified'>
  /** The latest not-before instant (seconds) for this user or everyone, from the record. */
  notBefore: number
}

/**
 * Rotates `tokenHash` in one statement when it is the family's current token: locks the session
 * (so it runs in line with every other use of the family and sees a revocation that just
 * committed), marks the token used only if it still is unused (an UPDATE re-checks the newest row
 * version), inserts the successor, touches the session and reads the user's not-before instant.
 * Anything else (unknown, spent, expired, revoked, disabled user) returns undefined and the
 * caller takes the careful path. One round trip instead of a transaction of nine; the statement
 * lives in the function `auth_rotate_refresh_token` (migration 0006) so its plan is cached.
 */
export async function rotateCurrentToken(
  db: Db,
  input: { tokenHash: string; successorId: string; successorHash: string; now: Date },
): Promise<Rotation | undefined> {
  const { tokenHash, successorId, successorHash, now } = input
  const result = await sql<{ session_id: string; user_id: string; roles: string[]; email_verified: boolean; not_before: string | null }>`
    select * from auth_rotate_refresh_token(${tokenHash}, ${successorId}, ${successorHash}, ${now})`.execute(db)
  const row = result.rows[0]
  if (!row) return undefined
  return {
    sessionId: row.session_id,
    user: { id: row.user_id, roles: row.roles, emailVerified: row.email_verified },
    notBefore: Number(row.not_before ?? 0),
  }
}

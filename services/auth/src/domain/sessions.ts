import { AppError } from '@platform/platform'
import { listActiveSessions, lockActiveSessionOf, type SessionSummary } from '../store/sessions.ts'
import { inEventTransaction } from '../events/publish.ts'
import { nowOf, type AuthDeps } from './deps.ts'
import { revokeSession } from './revoke.ts'

export type SessionPage = { items: (SessionSummary & { current: boolean })[]; nextCursor: string | null }

/**
 * The caller's live sessions (neither revoked nor expired), newest first; `current` marks the one
 * the caller's token belongs to. `cursor` is the last id of the previous page.
 */
export async function listOwnSessions(
  deps: AuthDeps,
  caller: { userId: string; sessionId: string },
  page: { limit: number; cursor?: string },
): Promise<SessionPage> {
  const rows = await listActiveSessions(deps.db, caller.userId, nowOf(deps), { limit: page.limit + 1, beforeId: page.cursor })
  const items = rows.slice(0, page.limit).map((session) => ({ ...session, current: session.id === caller.sessionId }))
  return { items, nextCursor: rows.length > page.limit ? items[items.length - 1]!.id : null }
}

/**
 * Revokes one of the caller's own live sessions: its refresh family dies and its access tokens
 * are refused at the gateway from now on. Someone else's session, or one already ended, is
 * `session_not_found`: the answer never confirms that another user's session id exists.
 */
export async function revokeOwnSession(deps: AuthDeps, caller: { userId: string }, sessionId: string): Promise<void> {
  const now = nowOf(deps)
  const records = await inEventTransaction(deps, async (trx, emit) => {
    const session = await lockActiveSessionOf(trx, caller.userId, sessionId, now)
    if (!session) return undefined
    const records = await revokeSession(deps, trx, session.id, now)
    await emit({ type: 'auth.session.revoked', subject: { type: 'session', id: session.id }, outcome: 'success', data: { user_id: caller.userId, reason: 'revoked' } })
    return records
  })
  if (!records) throw new AppError('session_not_found', 'No such session')
  await deps.revocations.publish(records)
}

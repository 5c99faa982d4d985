import type { Executor } from '@platform/db'
import { revokeSessions } from '../store/sessions.ts'
import type { RevocationRecord } from '../store/revocations.ts'
import type { AuthDatabase } from '../store/schema.ts'
import { inEventTransaction } from '../events/publish.ts'
import { nowOf, type AuthDeps, type TokenSettings } from './deps.ts'

/** What computing a revocation's lifetime needs. */
type HorizonDeps = { tokens: Pick<TokenSettings, 'accessTokenTtlSeconds'> }

/** How long a revocation must outlive its moment: until every access token it may cover expired. */
function accessHorizon(deps: HorizonDeps, now: Date): Date {
  return new Date(now.getTime() + (deps.tokens.accessTokenTtlSeconds + 60) * 1000)
}

const seconds = (date: Date) => String(Math.floor(date.getTime() / 1000))

/** Revocation records for sessions: each refresh family and every access token naming it. */
export function sessionRecords(deps: HorizonDeps, sessionIds: readonly string[], now: Date): RevocationRecord[] {
  return sessionIds.map((id) => ({ kind: 'session', value: id, data: '1', expiresAt: accessHorizon(deps, now) }))
}

/** A per-user not-before: every access token of the user issued until `now` stops working. */
export function userNotBeforeRecord(deps: HorizonDeps, userId: string, now: Date): RevocationRecord {
  return { kind: 'user_nbf', value: userId, data: seconds(now), expiresAt: accessHorizon(deps, now) }
}

/** Revokes one session (its refresh family and every access token naming it), inside `trx`. */
export async function revokeSession(
  deps: HorizonDeps & Pick<AuthDeps, 'revocations'>,
  trx: Executor<AuthDatabase>,
  sessionId: string,
  now: Date,
): Promise<RevocationRecord[]> {
  await revokeSessions(trx, { sessionId }, now)
  const records = sessionRecords(deps, [sessionId], now)
  await deps.revocations.record(trx, records)
  return records
}

/** Logout: this session and this very access token stop working. */
export async function logout(deps: AuthDeps, claims: { sub: string; sid: string; jti: string; exp: number }): Promise<void> {
  const now = nowOf(deps)
  const records = await inEventTransaction(deps, async (trx, emit) => {
    const records = await revokeSession(deps, trx, claims.sid, now)
    const jti: RevocationRecord = { kind: 'jti', value: claims.jti, data: '1', expiresAt: new Date(claims.exp * 1000 + 60_000) }
    await deps.revocations.record(trx, [jti])
    await emit({ type: 'auth.session.revoked', subject: { type: 'session', id: claims.sid }, outcome: 'success', data: { user_id: claims.sub, reason: 'logout' } })
    return [...records, jti]
  })
  await deps.revocations.publish(records)
}

/** Logout everywhere: every session of the user, and every access token issued until now. */
export async function logoutAll(deps: AuthDeps, userId: string): Promise<void> {
  const now = nowOf(deps)
  const records = await inEventTransaction(deps, async (trx, emit) => {
    const revoked = await revokeSessions(trx, { userId }, now)
    const records = [userNotBeforeRecord(deps, userId, now)]
    await deps.revocations.record(trx, records)
    for (const sessionId of revoked) {
      await emit({ type: 'auth.session.revoked', subject: { type: 'session', id: sessionId }, outcome: 'success', data: { user_id: userId, reason: 'logout_all' } })
    }
    return records
  })
  await deps.revocations.publish(records)
}

/**
 * Incident response: every session of every user ends and every access token issued until now
 * stops working (a global not-before). Tokens issued afterwards are pushed past it.
 */
export async function revokeAllTokens(deps: AuthDeps): Promise<void> {
  const now = nowOf(deps)
  const records = await inEventTransaction(deps, async (trx, emit) => {
    const revoked = await revokeSessions(trx, { all: true }, now)
    const records: RevocationRecord[] = [{ kind: 'global_nbf', value: 'global', data: seconds(now), expiresAt: accessHorizon(deps, now) }]
    await deps.revocations.record(trx, records)
    await emit({ type: 'auth.tokens.revoked_all', outcome: 'success', data: { not_before: now.toISOString(), sessions: revoked.length } })
    return { records, sessions: revoked.length }
  })
  await deps.revocations.publish(records.records)
  deps.log.warn({ sessions: records.sessions }, 'every token revoked (global not-before)')
}

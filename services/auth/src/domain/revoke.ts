import type { Executor } from '@platform/db'
import { revokeSessions } from '../store/sessions.ts'
import type { RevocationRecord } from '../store/revocations.ts'
import type { AuthDatabase } from '../store/schema.ts'
import { nowOf, type AuthDeps } from './deps.ts'

/** How long a revocation must outlive its moment: until every access token it may cover expired. */
function accessHorizon(deps: AuthDeps, now: Date): Date {
  return new Date(now.getTime() + (deps.tokens.accessTokenTtlSeconds + 60) * 1000)
}

/** Revokes one session (its refresh family and every access token naming it), inside `trx`. */
export async function revokeSession(deps: AuthDeps, trx: Executor<AuthDatabase>, sessionId: string, now: Date): Promise<RevocationRecord[]> {
  await revokeSessions(trx, { sessionId }, now)
  const records: RevocationRecord[] = [{ kind: 'session', value: sessionId, data: '1', expiresAt: accessHorizon(deps, now) }]
  await deps.revocations.record(trx, records)
  return records
}

/** Logout: this session and this very access token stop working. */
export async function logout(deps: AuthDeps, claims: { sid: string; jti: string; exp: number }): Promise<void> {
  const now = nowOf(deps)
  const records = await deps.db.transaction().execute(async (trx) => {
    const records = await revokeSession(deps, trx, claims.sid, now)
    const jti: RevocationRecord = { kind: 'jti', value: claims.jti, data: '1', expiresAt: new Date(claims.exp * 1000 + 60_000) }
    await deps.revocations.record(trx, [jti])
    return [...records, jti]
  })
  await deps.revocations.publish(records)
}

/** Logout everywhere: every session of the user, and every access token issued until now. */
export async function logoutAll(deps: AuthDeps, userId: string): Promise<void> {
  const now = nowOf(deps)
  const records = await deps.db.transaction().execute(async (trx) => {
    await revokeSessions(trx, { userId }, now)
    const records: RevocationRecord[] = [
      { kind: 'user_nbf', value: userId, data: String(Math.floor(now.getTime() / 1000)), expiresAt: accessHorizon(deps, now) },
    ]
    await deps.revocations.record(trx, records)
    return records
  })
  await deps.revocations.publish(records)
}

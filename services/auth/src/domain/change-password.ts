import { AppError } from '@platform/platform'
import { revokeSessions } from '../store/sessions.ts'
import { findUserById, updatePasswordHash } from '../store/users.ts'
import { inEventTransaction } from '../events/publish.ts'
import { nowOf, type AuthDeps } from './deps.ts'
import { guardLogin } from './lockout.ts'
import { verifyPassword } from './login.ts'
import { assertPasswordPolicy } from './password-policy.ts'
import { hashPassword } from './passwords.ts'
import { sessionRecords } from './revoke.ts'

export type ChangePasswordInput = {
  userId: string
  /** The caller's session: it stays; every other session of the user is revoked. */
  sessionId: string
  currentPassword: string
  newPassword: string
  ip: string
}

/**
 * Changes the caller's password. The current password is checked under the same brute-force
 * guard as a login (a stolen access token must not become a password oracle); a wrong one is
 * `invalid_credentials`. The new password must pass the policy. Every other session is revoked
 * in the same transaction as the new hash, so a device that knew the old password is out at once.
 */
export async function changePassword(deps: AuthDeps, input: ChangePasswordInput): Promise<{ revokedSessions: number }> {
  const user = await findUserById(deps.db, input.userId)
  if (!user || user.disabled) throw new AppError('invalid_token', 'The account no longer exists or is disabled')
  assertPasswordPolicy(input.newPassword, { email: user.email, path: '/new_password' })
  const attempt = await guardLogin(deps.lockout, user.email, input.ip)
  const check = await verifyPassword(deps, user, input.currentPassword)
  if (!check.ok) {
    await attempt.failed()
    throw new AppError('invalid_credentials', 'The current password is wrong')
  }
  await attempt.succeeded()
  const passwordHash = await hashPassword(input.newPassword)
  const now = nowOf(deps)
  const records = await inEventTransaction(deps, async (trx, emit) => {
    await updatePasswordHash(trx, user.id, passwordHash)
    const revoked = await revokeSessions(trx, { userId: user.id, exceptSessionId: input.sessionId }, now)
    const records = sessionRecords(deps, revoked, now)
    await deps.revocations.record(trx, records)
    await emit({ type: 'auth.password.changed', subject: { type: 'user', id: user.id }, outcome: 'success', actorId: user.id, data: { revoked_sessions: records.length } })
    return records
  })
  await deps.revocations.publish(records)
  deps.log.info({ user_id: user.id, revoked_sessions: records.length }, 'password changed')
  return { revokedSessions: records.length }
}

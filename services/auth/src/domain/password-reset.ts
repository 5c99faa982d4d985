import { randomBytes } from 'node:crypto'
import { AppError, uuidv7 } from '@platform/platform'
import { inEventTransaction } from '../events/publish.ts'
import { consumeLinkToken, insertLinkToken } from '../store/link-tokens.ts'
import { findUsablePasswordResetToken, spendPasswordResetTokens } from '../store/password-reset.ts'
import { revokeSessions } from '../store/sessions.ts'
import { findUserByEmail, findUserById, markEmailVerified, updatePasswordHash } from '../store/users.ts'
import { nowOf, type AuthDeps } from './deps.ts'
import { unlockAccount } from './lockout.ts'
import { assertPasswordPolicy } from './password-policy.ts'
import { hashPassword } from './passwords.ts'
import { hashLinkToken } from './register.ts'
import { sessionRecords, userNotBeforeRecord } from './revoke.ts'

/** How long the link of the reset e-mail works (CONTRACT §4). */
export const PASSWORD_RESET_TTL_S = 30 * 60

export type ResetRequest = { issued: false } | { issued: true; userId: string; expiresAt: Date }

/**
 * The work behind `POST /auth/password/forgot` (CONTRACT §4). For an account that exists and is
 * not disabled, one transaction spends the user's earlier unused reset tokens, stores the hash of
 * a new 256-bit token (30 min) and writes `auth.password_reset.requested` carrying the token
 * sealed for the notification service, which mails the link. For any other address nothing is
 * written. The HTTP handler answers 202 before this runs, so neither the answer nor its timing
 * nor an error on the way says whether the account exists.
 */
export async function requestPasswordReset(deps: AuthDeps, email: string): Promise<ResetRequest> {
  const user = await findUserByEmail(deps.db, email)
  if (!user || user.disabled) return { issued: false }
  const token = randomBytes(32).toString('base64url')
  const now = nowOf(deps)
  const expiresAt = new Date(now.getTime() + PASSWORD_RESET_TTL_S * 1000)
  await inEventTransaction(deps, async (trx, emit) => {
    const superseded = await spendPasswordResetTokens(trx, user.id, now)
    await insertLinkToken(trx, 'password_reset_tokens', { id: uuidv7(), userId: user.id, tokenHash: hashLinkToken(token), expiresAt })
    await emit({
      type: 'auth.password_reset.requested',
      subject: { type: 'user', id: user.id },
      outcome: 'success',
      data: { email: user.email, reset_token_sealed: deps.events.sealToken(token), expires_at: expiresAt.toISOString(), superseded },
    })
  })
  return { issued: true, userId: user.id, expiresAt }
}

export type ResetPasswordInput = { token: string; newPassword: string }

const invalidToken = () => new AppError('invalid_token', 'The reset link is invalid, used or expired', { status: 400 })

/**
 * Redeems a reset token (CONTRACT §4): a bad, used or expired one is 400 `invalid_token`. The new
 * password passes the same policy as at registration. One transaction then spends the token
 * (a conditional UPDATE, so of two concurrent resets one wins), spends the user's other reset
 * tokens, stores the argon2id hash, marks the e-mail verified (the link proved the mailbox), revokes every session and every access token issued until
 * now, and writes `auth.password_reset.completed`. The brute-force locks are lifted before the
 * commit: if the store is unreachable the reset fails as a whole (503) and the link still works.
 */
export async function resetPassword(deps: AuthDeps, input: ResetPasswordInput): Promise<{ userId: string; revokedSessions: number }> {
  const tokenHash = hashLinkToken(input.token)
  const pending = await findUsablePasswordResetToken(deps.db, tokenHash, nowOf(deps))
  if (!pending || pending.disabled) throw invalidToken()
  assertPasswordPolicy(input.newPassword, { email: pending.email, path: '/new_password' })
  const passwordHash = await hashPassword(input.newPassword)
  const now = nowOf(deps)
  const result = await inEventTransaction(deps, async (trx, emit) => {
    const userId = await consumeLinkToken(trx, 'password_reset_tokens', tokenHash, now)
    if (userId === undefined) return undefined
    const user = await findUserById(trx, userId)
    if (!user || user.disabled) return undefined
    await spendPasswordResetTokens(trx, user.id, now)
    await updatePasswordHash(trx, user.id, passwordHash)
    // The link reached the mailbox, so the address is proven, as a verification link proves it.
    if (!user.emailVerified && (await markEmailVerified(trx, user.id))) {
      await emit({ type: 'auth.email.verified', subject: { type: 'user', id: user.id }, outcome: 'success', actorId: user.id, data: { via: 'password_reset' } })
    }
    const revoked = await revokeSessions(trx, { userId: user.id }, now)
    const records = [...sessionRecords(deps, revoked, now), userNotBeforeRecord(deps, user.id, now)]
    await deps.revocations.record(trx, records)
    await emit({
      type: 'auth.password_reset.completed',
      subject: { type: 'user', id: user.id },
      outcome: 'success',
      actorId: user.id,
      data: { revoked_sessions: revoked.length },
    })
    await unlockAccount(deps.lockout, user.email)
    return { userId: user.id, records, revokedSessions: revoked.length }
  })
  if (!result) throw invalidToken()
  await deps.revocations.publish(result.records)
  deps.log.info({ user_id: result.userId, revoked_sessions: result.revokedSessions }, 'password reset')
  return { userId: result.userId, revokedSessions: result.revokedSessions }
}

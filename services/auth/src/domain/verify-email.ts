import { AppError } from '@platform/platform'
import { inEventTransaction } from '../events/publish.ts'
import { consumeLinkToken } from '../store/link-tokens.ts'
import { markEmailVerified } from '../store/users.ts'
import { nowOf, type AuthDeps } from './deps.ts'
import { hashLinkToken } from './register.ts'

/**
 * Redeems the token of the registration e-mail (CONTRACT §4): single use, 24 h. A bad, used or
 * expired token is 400 `invalid_token`. Marks the e-mail verified and writes `auth.email.verified`
 * in the same transaction.
 */
export async function verifyEmail(deps: AuthDeps, token: string): Promise<void> {
  const now = nowOf(deps)
  const ok = await inEventTransaction(deps, async (trx, emit) => {
    const userId = await consumeLinkToken(trx, 'email_verification_tokens', hashLinkToken(token), now)
    if (!userId || !(await markEmailVerified(trx, userId))) return false
    await emit({ type: 'auth.email.verified', subject: { type: 'user', id: userId }, outcome: 'success', actorId: userId, data: {} })
    return true
  })
  if (!ok) throw new AppError('invalid_token', 'The verification link is invalid, used or expired', { status: 400 })
}

import { AppError, uuidv7 } from '@platform/platform'
import {
  findRefreshTokenByHash,
  findSuccessor,
  lockSession,
  rotateCurrentToken,
} from '../store/sessions.ts'
import { findUserById } from '../store/users.ts'
import { inEventTransaction } from '../events/publish.ts'
import { nowOf, type AuthDeps } from './deps.ts'
import { signAccessAfter, signAccessFor, type TokenPair } from './issue-tokens.ts'
import { hashRefreshToken, successorOf } from './refresh-token.ts'
import { revokeSession } from './revoke.ts'
import type { RevocationRecord } from '../store/revocations.ts'

type Access = { token: string; expiresIn: number }
type Outcome = { kind: 'rotated'; successor: string; sessionId: string; access: Access } | { kind: 'reused'; sessionId: string; records: RevocationRecord[] } | { kind: 'invalid' }

/**
 * Rotates a refresh token. The common case, the family's current token, is one statement
 * (`rotateCurrentToken`): session locked, token spent, successor stored, not-before read. Every
 * other case takes the careful path in a transaction holding the session row lock, so
 * concurrent uses of one family run one after the other: the immediate parent presented again
 * within the leeway gets the same successor (PITFALLS: never an older generation); anything
 * else is reuse: the whole family is revoked and the caller gets `refresh_token_reused`.
 */
export async function refreshTokens(deps: AuthDeps, presented: string): Promise<TokenPair> {
  const now = nowOf(deps)
  const tokenHash = hashRefreshToken(presented)
  const successor = successorOf(presented, deps.tokens.tokenSecret)
  const rotated = await rotateCurrentToken(deps.db, { tokenHash, successorId: uuidv7(), successorHash: hashRefreshToken(successor), now })
  if (rotated) {
    const access = signAccessAfter(deps, rotated.user, rotated.sessionId, rotated.notBefore)
    return { accessToken: access.token, expiresIn: access.expiresIn, refreshToken: successor, sessionId: rotated.sessionId }
  }
  const outcome = await inEventTransaction(deps, async (trx, emit): Promise<Outcome> => {
    const found = await findRefreshTokenByHash(trx, tokenHash)
    if (!found) return { kind: 'invalid' }
    const session = await lockSession(trx, found.session_id)
    const token = await findRefreshTokenByHash(trx, tokenHash)
    if (!session || !token || session.revoked_at || new Date(session.expires_at) <= now || new Date(token.expires_at) <= now) {
      return { kind: 'invalid' }
    }
    // An unused token the one-statement rotation refused is expired, revoked or its user disabled.
    if (!token.used_at) return { kind: 'invalid' }
    const child = await findSuccessor(trx, token.id)
    const withinLeeway = now.getTime() - new Date(token.used_at).getTime() <= deps.tokens.refreshReuseLeewaySeconds * 1000
    if (child && !child.used_at && withinLeeway) {
      const user = await findUserById(trx, session.user_id)
      if (!user || user.disabled) return { kind: 'invalid' }
      return { kind: 'rotated', successor, sessionId: session.id, access: await signAccessFor(deps, user, session.id) }
    }
    const records = await revokeSession(deps, trx, session.id, now)
    await emit({ type: 'auth.refresh_token.reused', subject: { type: 'session', id: session.id }, outcome: 'denied', data: { user_id: session.user_id } })
    return { kind: 'reused', sessionId: session.id, records }
  })

  if (outcome.kind === 'invalid') throw new AppError('invalid_token', 'Refresh token is unknown, expired or revoked')
  if (outcome.kind === 'reused') {
    deps.counters.refreshReuseDetected()
    await deps.revocations.publish(outcome.records)
    deps.log.warn({ session_id: outcome.sessionId }, 'refresh token reused; session family revoked')
    throw new AppError('refresh_token_reused', 'This refresh token was already used; the session has been revoked')
  }
  const { access } = outcome
  return { accessToken: access.token, expiresIn: access.expiresIn, refreshToken: outcome.successor, sessionId: outcome.sessionId }
}

import { signAccessToken } from '@platform/tokens'
import { newRefreshToken } from './refresh-token.ts'
import type { AuthDeps } from './deps.ts'
import type { User } from '../store/users.ts'

/** What a successful login or refresh hands to the client. */
export type TokenPair = {
  accessToken: string
  expiresIn: number
  refreshToken: string
  sessionId: string
}

/**
 * Signs an access token for a session. `iat` is pushed past any not-before instant set in the
 * same second (logout-all, role change), so a token issued after a revocation is never born dead
 * and one issued before it never survives.
 */
export async function signAccessFor(deps: AuthDeps, user: TokenSubject, sessionId: string): Promise<{ token: string; expiresIn: number }> {
  return signAccessAfter(deps, user, sessionId, await deps.revocations.notBefore(user.id))
}

/** The user fields an access token carries. */
export type TokenSubject = Pick<User, 'id' | 'roles' | 'emailVerified'>

/** Signs an access token whose `iat` is later than `notBefore` (seconds), already looked up. */
export function signAccessAfter(deps: AuthDeps, user: TokenSubject, sessionId: string, notBefore: number): { token: string; expiresIn: number } {
  const now = Math.floor(Date.now() / 1000)
  const { token } = signAccessToken({
    key: deps.keys.active(),
    issuer: deps.tokens.issuer,
    audience: deps.tokens.audience,
    ttlSeconds: deps.tokens.accessTokenTtlSeconds,
    subject: user.id,
    sessionId,
    roles: user.roles,
    emailVerified: user.emailVerified,
    issuedAt: Math.max(now, notBefore + 1),
  })
  return { token, expiresIn: deps.tokens.accessTokenTtlSeconds }
}

export { newRefreshToken }

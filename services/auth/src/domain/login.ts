import { AppError, uuidv7 } from '@platform/platform'
import { insertRefreshToken, insertSession } from '../store/sessions.ts'
import { findUserByEmail, updatePasswordHash, type User } from '../store/users.ts'
import { nowOf, type AuthDeps } from './deps.ts'
import { signAccessFor, type TokenPair } from './issue-tokens.ts'
import { burnPasswordCheck, checkPassword, hashPassword } from './passwords.ts'
import { hashRefreshToken, newRefreshToken } from './refresh-token.ts'

export type LoginInput = { email: string; password: string; userAgent: string | null; ipHint: string | null }

/**
 * Checks credentials and opens a session. An unknown e-mail burns the same argon2id work as a
 * known one and both failures are the same `invalid_credentials`, so the answer reveals nothing.
 * Legacy hashes (bcrypt, Werkzeug PBKDF2) are replaced by argon2id on the first good login.
 */
export async function login(deps: AuthDeps, input: LoginInput): Promise<{ user: User; tokens: TokenPair }> {
  const user = await findUserByEmail(deps.db, input.email)
  if (!user) {
    await burnPasswordCheck(input.password)
    throw new AppError('invalid_credentials', 'E-mail or password is wrong')
  }
  const check = await checkPassword(user.passwordHash, input.password)
  if (!check.ok) throw new AppError('invalid_credentials', 'E-mail or password is wrong')
  if (user.disabled) throw new AppError('account_disabled', 'This account has been disabled')
  if (check.needsRehash) await updatePasswordHash(deps.db, user.id, await hashPassword(input.password))
  return { user, tokens: await openSession(deps, user, input) }
}

/** Creates a session with its first refresh token and an access token for it. */
export async function openSession(
  deps: AuthDeps,
  user: User,
  input: { userAgent: string | null; ipHint: string | null },
): Promise<TokenPair> {
  const now = nowOf(deps)
  const sessionId = uuidv7()
  const refreshToken = newRefreshToken()
  const expiresAt = new Date(now.getTime() + deps.tokens.refreshTokenTtlSeconds * 1000)
  await deps.db.transaction().execute(async (trx) => {
    await insertSession(trx, { id: sessionId, userId: user.id, expiresAt, userAgent: input.userAgent, ipHint: input.ipHint, now })
    await insertRefreshToken(trx, { id: uuidv7(), sessionId, tokenHash: hashRefreshToken(refreshToken), parentId: null, expiresAt, now })
  })
  const access = await signAccessFor(deps, user, sessionId)
  return { accessToken: access.token, expiresIn: access.expiresIn, refreshToken, sessionId }
}

import { outboxRowOf } from '@platform/bus/outbox'
import { AppError, uuidv7 } from '@platform/platform'
import { inEventTransaction } from '../events/publish.ts'
import { openSessionRecord } from '../store/sessions.ts'
import { findUserByEmail, updatePasswordHash, type User } from '../store/users.ts'
import { nowOf, type AuthDeps, type LoginOutcome } from './deps.ts'
import { signAccessAfter, type TokenPair } from './issue-tokens.ts'
import { guardLogin } from './lockout.ts'
import { burnPasswordCheck, checkPassword, hashPassword, type PasswordCheck } from './passwords.ts'
import { hashRefreshToken, newRefreshToken } from './refresh-token.ts'

export type LoginInput = {
  email: string
  password: string
  /** The client address, for the brute-force counters (hashed there, never stored). */
  ip: string
  userAgent: string | null
  ipHint: string | null
}

/**
 * Checks credentials and opens a session. The brute-force guard runs first: during a lock the
 * answer is 423 before the account is even looked up. An unknown e-mail burns the same argon2id
 * work as a known one and both failures are the same `invalid_credentials`, so the answer reveals
 * nothing. Legacy hashes (bcrypt, Werkzeug PBKDF2) are replaced by argon2id on the first good login.
 * Every attempt is counted by how it ended (`auth_logins_total{outcome}`).
 */
export async function login(deps: AuthDeps, input: LoginInput): Promise<{ user: User; tokens: TokenPair }> {
  try {
    const result = await attemptLogin(deps, input)
    deps.counters.loginFinished('success')
    return result
  } catch (error) {
    deps.counters.loginFinished(loginOutcome(error))
    throw error
  }
}

const OUTCOME_OF_CODE: Partial<Record<string, LoginOutcome>> = {
  invalid_credentials: 'failure',
  account_locked: 'locked',
  account_disabled: 'disabled',
  dependency_unavailable: 'unavailable',
}

function loginOutcome(error: unknown): LoginOutcome {
  return (error instanceof AppError && OUTCOME_OF_CODE[error.code]) || 'error'
}

async function attemptLogin(deps: AuthDeps, input: LoginInput): Promise<{ user: User; tokens: TokenPair }> {
  const attempt = await guardLogin(deps.lockout, input.email, input.ip)
  const user = await findUserByEmail(deps.db, input.email)
  const check = await verifyPassword(deps, user, input.password)
  if (!user || !check.ok) {
    await attempt.failed()
    await loginFailed(deps, user, input.email, 'invalid_credentials')
    throw new AppError('invalid_credentials', 'E-mail or password is wrong')
  }
  await attempt.succeeded()
  if (user.disabled) {
    await loginFailed(deps, user, input.email, 'account_disabled')
    throw new AppError('account_disabled', 'This account has been disabled')
  }
  if (check.needsRehash) await updatePasswordHash(deps.db, user.id, await hashPassword(input.password))
  return { user, tokens: await openSession(deps, user, input) }
}

/** A failed login changes no row: its event goes out in a small transaction of its own. */
async function loginFailed(deps: AuthDeps, user: User | undefined, email: string, reason: string): Promise<void> {
  await inEventTransaction(deps, (_trx, emit) =>
    emit({
      type: 'auth.login.failed',
      subject: user ? { type: 'user', id: user.id } : deps.events.emailSubject(email),
      outcome: 'failure',
      data: { reason },
    }),
  )
}

/**
 * The one place a presented password meets a stored hash (or, for an unknown account, the dummy
 * hash), so `auth_password_checks_total` counts every such check.
 */
export async function verifyPassword(deps: Pick<AuthDeps, 'counters'>, user: User | undefined, password: string): Promise<PasswordCheck> {
  if (!user) {
    await burnPasswordCheck(password)
    deps.counters.passwordChecked('no_account')
    return { ok: false, needsRehash: false }
  }
  const check = await checkPassword(user.passwordHash, password)
  deps.counters.passwordChecked(check.ok ? 'match' : 'mismatch')
  return check
}

/**
 * Creates a session with its first refresh token and an access token for it: one statement
 * writes the session, the token and the `auth.login.succeeded` outbox row, and reads the
 * not-before instant the access token must be issued after.
 */
export async function openSession(
  deps: AuthDeps,
  user: User,
  input: { userAgent: string | null; ipHint: string | null },
): Promise<TokenPair> {
  const now = nowOf(deps)
  const sessionId = uuidv7()
  const refreshToken = newRefreshToken()
  const event = deps.events.envelope({ type: 'auth.login.succeeded', subject: { type: 'user', id: user.id }, outcome: 'success', actorId: user.id, data: { session_id: sessionId } })
  const { notBefore } = await openSessionRecord(deps.db, {
    session: { id: sessionId, userId: user.id, expiresAt: new Date(now.getTime() + deps.tokens.refreshTokenTtlSeconds * 1000), userAgent: input.userAgent, ipHint: input.ipHint },
    token: { id: uuidv7(), tokenHash: hashRefreshToken(refreshToken) },
    outboxRow: outboxRowOf(event),
    now,
  })
  deps.events.notify()
  const access = signAccessAfter(deps, user, sessionId, notBefore)
  return { accessToken: access.token, expiresIn: access.expiresIn, refreshToken, sessionId }
}

import { randomBytes } from 'node:crypto'
import { AppError, sha256Base64url, uuidv7 } from '@platform/platform'
import type { Role } from '@platform/contracts'
import { inEventTransaction } from '../events/publish.ts'
import { insertUser } from '../store/users.ts'
import { insertLinkToken } from '../store/link-tokens.ts'
import { nowOf, type AuthDeps } from './deps.ts'
import { assertPasswordPolicy } from './password-policy.ts'
import { hashPassword } from './passwords.ts'
import type { User } from '../store/users.ts'

/** How long the link of the verification e-mail works (CONTRACT §4). */
export const EMAIL_VERIFICATION_TTL_S = 24 * 3600

export type RegisterInput = {
  email: string
  password: string
  roles?: readonly Role[]
  /** JSON Pointer of the password in the caller's input, for `validation_failed`. */
  passwordPath?: string
}

/** SHA-256 (base64url) of a link token: the only form in which it is stored. */
export function hashLinkToken(token: string): string {
  return sha256Base64url(token)
}

/**
 * Creates a user (role `user` unless told otherwise) after the password policy. The password is
 * hashed before the e-mail is looked at, so a taken e-mail costs the same time as a free one.
 * With an event writer, the same transaction stores a single-use e-mail verification token (its
 * hash) and writes `auth.user.registered` carrying the token sealed for the notification service.
 */
export async function registerUser(
  deps: Pick<AuthDeps, 'db' | 'now'> & { events?: AuthDeps['events'] | undefined },
  input: RegisterInput,
): Promise<User> {
  assertPasswordPolicy(input.password, { email: input.email, path: input.passwordPath ?? '/password' })
  const passwordHash = await hashPassword(input.password)
  const user = await inEventTransaction(deps, async (trx, emit) => {
    const user = await insertUser(trx, {
      id: uuidv7(),
      email: input.email,
      password_hash: passwordHash,
      roles: [...(input.roles ?? ['user'])],
      email_verified: false,
      disabled: false,
    })
    if (!user || !deps.events) return user
    const token = randomBytes(32).toString('base64url')
    const now = nowOf(deps)
    await insertLinkToken(trx, 'email_verification_tokens', {
      id: uuidv7(),
      userId: user.id,
      tokenHash: hashLinkToken(token),
      expiresAt: new Date(now.getTime() + EMAIL_VERIFICATION_TTL_S * 1000),
    })
    await emit({
      type: 'auth.user.registered',
      subject: { type: 'user', id: user.id },
      outcome: 'success',
      data: { email: user.email, verification_token_sealed: deps.events.sealToken(token) },
    })
    return user
  })
  if (!user) throw new AppError('email_taken', 'An account with this e-mail already exists')
  return user
}

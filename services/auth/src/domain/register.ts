import { AppError, uuidv7 } from '@platform/platform'
import { insertUser } from '../store/users.ts'
import type { AuthDeps } from './deps.ts'
import { hashPassword } from './passwords.ts'
import type { User } from '../store/users.ts'

/**
 * Creates a user with role `user`. The password is hashed before the e-mail is looked at, so a
 * taken e-mail costs the same time as a free one.
 */
export async function registerUser(deps: Pick<AuthDeps, 'db'>, input: { email: string; password: string; roles?: string[] }): Promise<User> {
  const passwordHash = await hashPassword(input.password)
  const user = await insertUser(deps.db, {
    id: uuidv7(),
    email: input.email,
    password_hash: passwordHash,
    roles: input.roles ?? ['user'],
    email_verified: false,
    disabled: false,
  })
  if (!user) throw new AppError('email_taken', 'An account with this e-mail already exists')
  return user
}

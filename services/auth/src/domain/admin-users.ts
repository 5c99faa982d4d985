import { AppError } from '@platform/platform'
import type { Role } from '@platform/contracts'
import { revokeSessions } from '../store/sessions.ts'
import { disableUser as markDisabled, findUserByEmail, listUsers, setUserRoles as storeRoles, type User } from '../store/users.ts'
import { inEventTransaction } from '../events/publish.ts'
import { findUserById } from '../store/users.ts'
import { nowOf, type AuthDeps, type TokenSettings } from './deps.ts'
import { registerUser } from './register.ts'
import { sessionRecords, userNotBeforeRecord } from './revoke.ts'

/** What changing a user needs: the CLI provides it without a running service. */
export type UserAdminDeps = Pick<AuthDeps, 'db' | 'revocations' | 'log' | 'now'> & {
  tokens: Pick<TokenSettings, 'accessTokenTtlSeconds'>
  /** Absent only in the offline CLI, which has no MAIL_TOKEN_KEY / IP hash key at hand. */
  events?: AuthDeps['events'] | undefined
}

export type UserPage = { items: User[]; nextCursor: string | null }

/**
 * Finds users for administrators. `email` matches exactly after normalisation (trimmed, lower
 * case, as every e-mail is stored): an admin looks up a known person, and an exact match cannot
 * be turned into a prefix scan of the whole user base. `role` keeps users holding that role.
 * Pages run in creation order; the cursor is the previous page's last id.
 */
export async function findUsers(
  deps: Pick<AuthDeps, 'db'>,
  filter: { email?: string; role?: Role; cursor?: string; limit: number },
): Promise<UserPage> {
  const rows = await listUsers(deps.db, { email: filter.email, role: filter.role, afterId: filter.cursor, limit: filter.limit + 1 })
  const items = rows.slice(0, filter.limit)
  return { items, nextCursor: rows.length > filter.limit ? items[items.length - 1]!.id : null }
}

/**
 * Replaces a user's roles. Every access token issued to the user before now is revoked (a
 * per-user not-before), so no token keeps the old roles; the sessions live on and the next
 * refresh carries the new roles.
 */
export async function setUserRoles(deps: UserAdminDeps, userId: string, roles: readonly Role[]): Promise<User> {
  const unique = [...new Set(roles)]
  const now = nowOf(deps)
  const result = await inEventTransaction(deps, async (trx, emit) => {
    const previous = await findUserById(trx, userId)
    const user = await storeRoles(trx, userId, unique)
    if (!user) return undefined
    const records = [userNotBeforeRecord(deps, userId, now)]
    await deps.revocations.record(trx, records)
    await emit({ type: 'auth.user.roles_changed', subject: { type: 'user', id: userId }, outcome: 'success', data: { roles: unique, previous_roles: previous?.roles ?? [] } })
    return { user, records }
  })
  if (!result) throw new AppError('user_not_found', 'No such user')
  await deps.revocations.publish(result.records)
  deps.log.info({ user_id: userId, roles: unique }, 'user roles changed')
  return result.user
}

/**
 * Disables a user: every session is revoked and every access token issued until now refused;
 * the correct password then answers 403 `account_disabled`.
 */
export async function disableUser(deps: UserAdminDeps, userId: string): Promise<void> {
  const now = nowOf(deps)
  const records = await inEventTransaction(deps, async (trx, emit) => {
    const user = await markDisabled(trx, userId)
    if (!user) return undefined
    const revoked = await revokeSessions(trx, { userId }, now)
    const records = [...sessionRecords(deps, revoked, now), userNotBeforeRecord(deps, userId, now)]
    await deps.revocations.record(trx, records)
    await emit({ type: 'auth.user.disabled', subject: { type: 'user', id: userId }, outcome: 'success', data: { revoked_sessions: revoked.length } })
    return records
  })
  if (!records) throw new AppError('user_not_found', 'No such user')
  await deps.revocations.publish(records)
  deps.log.info({ user_id: userId }, 'user disabled')
}

/**
 * Creates the first administrator from BOOTSTRAP_ADMIN_EMAIL / _PASSWORD if no user has that
 * e-mail yet; an existing user is left exactly as it is (idempotent across restarts and replicas).
 */
export async function ensureBootstrapAdmin(
  deps: Pick<AuthDeps, 'db' | 'log'> & { events?: AuthDeps['events'] | undefined },
  admin: { email: string; password: string },
): Promise<{ created: boolean }> {
  if (await findUserByEmail(deps.db, admin.email)) return { created: false }
  try {
    const user = await registerUser(deps, { email: admin.email, password: admin.password, roles: ['admin'] })
    deps.log.info({ user_id: user.id }, 'bootstrap admin created')
    return { created: true }
  } catch (error) {
    // Another replica created it between our look-up and insert: that is the idempotent outcome.
    if (error instanceof AppError && error.code === 'email_taken') return { created: false }
    throw error
  }
}

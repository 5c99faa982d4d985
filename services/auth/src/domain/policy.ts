import type { Role } from '@platform/contracts'

/**
 * Who may do what in the auth service, in one table (CONTRACT §4 roles: `user` owns its data,
 * `reseller` issues licenses within quota, `admin` everything). A route names the action it
 * performs; nothing else decides. Own-data routes (`/auth/me`, `/auth/sessions`, password change)
 * need only a valid token and act on the token's subject, so they have no entry here.
 */
export const PERMISSIONS = {
  'users:list': ['admin'],
  'users:set_roles': ['admin'],
  'users:disable': ['admin'],
  'tokens:revoke_all': ['admin'],
  'keys:rotate': ['admin'],
} as const satisfies Record<string, readonly Role[]>

export type Permission = keyof typeof PERMISSIONS

/** Anyone acting: the roles come from a verified access token (or the CLI, which acts as admin). */
export type Actor = { roles: readonly string[] }

/** Whether `actor` may perform `action`. */
export function can(actor: Actor, action: Permission): boolean {
  const allowed: readonly string[] = PERMISSIONS[action]
  return actor.roles.some((role) => allowed.includes(role))
}

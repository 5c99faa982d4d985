import type { ErrorCode } from '@platform/contracts'
import { routeProblems, type RouteSpec as BaseRouteSpec } from '@platform/platform/openapi'
import type { Permission } from '../domain/policy.ts'
import * as s from './schemas.ts'

/** Who may call a route: anyone, any valid bearer, an introspection client, or a permission. */
export type Access = { kind: 'public' } | { kind: 'bearer' } | { kind: 'client' } | { kind: 'permission'; permission: Permission }

/** One route of the auth API (path parameters are UUIDs), with what only auth's routes have. */
export type RouteSpec = BaseRouteSpec<Access> & {
  /** Body media types besides JSON (introspection takes RFC 7662 forms). */
  form?: boolean
  success: { setsCookies?: boolean }
  /** Where this route answers a code with another status than its usual one (CONTRACT §4). */
  problemStatus?: Partial<Record<ErrorCode, number>>
  /** Served by auth but not through the gateway (CONTRACT §3). */
  internal?: boolean
}

const publicAccess = { kind: 'public' } as const
const bearer = { kind: 'bearer' } as const
const permission = (p: Permission) => ({ kind: 'permission', permission: p }) as const

/** Every route of the auth service (CONTRACT §4). */
export const api = {
  register: {
    method: 'post',
    path: '/auth/register',
    summary: 'Create an account',
    description: 'Same timing and shape rules as login, so the answer does not reveal more than `email_taken`.',
    access: publicAccess,
    body: s.registerBody,
    bodyRequired: true,
    success: { status: 201, description: 'Created; the e-mail is not verified yet', schema: s.registeredAnswer },
    problems: ['email_taken', 'dependency_unavailable'],
  },
  login: {
    method: 'post',
    path: '/auth/login',
    summary: 'Log in with e-mail and password',
    description:
      'With `token_delivery: "cookie"` the refresh token is set as cookie `__Secure-refresh_token` (HttpOnly; Secure; SameSite=Strict; Path=/auth) and a CSRF cookie `__Host-csrf` (Secure; SameSite=Strict; Path=/) is set, its value also in the body as `csrf_token`. Brute-force protection: 5 failures for one account from one IP in 5 minutes, or 20 from any IPs in 10 minutes (`LOCKOUT`), lock with growing back-off; during a lock every attempt answers 423 with `Retry-After`, whether or not the password is right and whether or not the account exists.',
    access: publicAccess,
    body: s.loginBody,
    bodyRequired: true,
    success: { status: 200, description: 'A new session', schema: s.tokenAnswer, setsCookies: true },
    problems: ['invalid_credentials', 'account_disabled', 'account_locked', 'dependency_unavailable'],
  },
  refresh: {
    method: 'post',
    path: '/auth/refresh',
    summary: 'Rotate a refresh token',
    description:
      'Body mode: `{refresh_token}`. Cookie mode: an empty body (none, or `{}`), the `__Secure-refresh_token` cookie, header `X-CSRF-Token` equal to the `__Host-csrf` cookie, and an allowed `Origin` (CORS_ORIGINS or PUBLIC_URL). Presenting an already-rotated token revokes the session, except the immediate parent of the newest token within `REFRESH_REUSE_LEEWAY`, which gets the same successor.',
    access: publicAccess,
    body: s.refreshBody,
    success: { status: 200, description: 'A new pair (cookie mode: a new refresh cookie and `csrf_token`)', schema: s.tokenAnswer, setsCookies: true },
    problems: ['invalid_token', 'refresh_token_reused', 'csrf_failed', 'dependency_unavailable'],
  },
  logout: {
    method: 'post',
    path: '/auth/logout',
    summary: 'End this session',
    description: 'Revokes the refresh family and this access token; clears both cookies (`Max-Age=0`).',
    access: bearer,
    body: s.emptyBody,
    success: { status: 204, description: 'Logged out', setsCookies: true },
    problems: [],
  },
  logoutAll: {
    method: 'post',
    path: '/auth/logout-all',
    summary: 'End every session of the caller',
    access: bearer,
    body: s.emptyBody,
    success: { status: 204, description: 'Every session revoked', setsCookies: true },
    problems: [],
  },
  me: {
    method: 'get',
    path: '/auth/me',
    summary: 'The caller',
    access: bearer,
    success: { status: 200, description: 'The account of the token', schema: s.meAnswer },
    problems: [],
  },
  listSessions: {
    method: 'get',
    path: '/auth/sessions',
    summary: "The caller's live sessions",
    description: 'Sessions neither revoked nor expired, newest first; `current` marks the one of this token.',
    access: bearer,
    query: s.sessionsQuery,
    success: { status: 200, description: 'A page of sessions', schema: s.sessionsAnswer },
    problems: [],
  },
  revokeSession: {
    method: 'delete',
    path: '/auth/sessions/{id}',
    summary: 'End one of your sessions',
    description: "Its refresh token stops working and its access tokens are refused at once. Another user's session answers 404.",
    access: bearer,
    params: ['id'],
    success: { status: 204, description: 'Revoked' },
    problems: ['session_not_found'],
  },
  verifyEmail: {
    method: 'post',
    path: '/auth/email/verify',
    summary: 'Verify your e-mail address',
    description: 'Redeems the token of the registration e-mail link `PUBLIC_URL/verify-email?token=…`: single use, valid 24 h. Bad, used or expired tokens answer 400 `invalid_token`.',
    access: publicAccess,
    body: s.verifyEmailBody,
    bodyRequired: true,
    success: { status: 204, description: 'The e-mail address is verified' },
    problems: ['invalid_token'],
    problemStatus: { invalid_token: 400 },
  },
  changePassword: {
    method: 'post',
    path: '/auth/password/change',
    summary: 'Change your password',
    description: 'Every other session of the account is revoked; this one stays. Wrong current password attempts count towards the brute-force lock.',
    access: bearer,
    body: s.changePasswordBody,
    bodyRequired: true,
    success: { status: 204, description: 'Changed' },
    problems: ['invalid_credentials', 'account_locked'],
  },
  forgotPassword: {
    method: 'post',
    path: '/auth/password/forgot',
    summary: 'Ask for a password reset link',
    description:
      'Always 202 with the same body, whether or not an account has this address. If one exists (and is not disabled), an e-mail with the single-use link `PUBLIC_URL/reset-password?token=…` (valid 30 min) is sent; a new request makes the earlier links of the account stop working. Rate-limited per IP (`password_reset_ip`) and per e-mail (`password_reset_email`).',
    access: publicAccess,
    body: s.forgotPasswordBody,
    bodyRequired: true,
    success: { status: 202, description: 'Accepted; a link is mailed if the account exists', schema: s.forgotAnswer },
    problems: [],
  },
  resetPassword: {
    method: 'post',
    path: '/auth/password/reset',
    summary: 'Set a new password with the link of the reset e-mail',
    description:
      'Redeems the token of the reset link (single use, 30 min); the new password obeys the password policy. Every session and access token of the account is revoked and its brute-force locks are lifted. Bad, used or expired tokens answer 400 `invalid_token`.',
    access: publicAccess,
    body: s.resetPasswordBody,
    bodyRequired: true,
    success: { status: 204, description: 'The password is replaced; log in with it' },
    problems: ['invalid_token', 'dependency_unavailable'],
    problemStatus: { invalid_token: 400 },
  },
  introspect: {
    method: 'post',
    path: '/auth/introspect',
    summary: 'RFC 7662 token introspection (internal clients)',
    description: 'HTTP Basic client credentials from `INTROSPECTION_CLIENTS`. Not reachable through the gateway.',
    access: { kind: 'client' },
    body: s.introspectBody,
    form: true,
    bodyRequired: true,
    success: { status: 200, description: '`{active:false}` for anything not valid', schema: s.introspectAnswer },
    problems: ['invalid_client', 'dependency_unavailable'],
    internal: true,
  },
  listUsers: {
    method: 'get',
    path: '/auth/admin/users',
    summary: 'Find users',
    description: '`email` matches exactly after normalisation; `role` keeps users holding that role. Pages in creation order.',
    access: permission('users:list'),
    query: s.usersQuery,
    success: { status: 200, description: 'A page of users', schema: s.usersAnswer },
    problems: [],
  },
  setRoles: {
    method: 'put',
    path: '/auth/admin/users/{id}/roles',
    summary: "Replace a user's roles",
    description: "Every access token the user was issued before is revoked; the user's sessions refresh into tokens with the new roles.",
    access: permission('users:set_roles'),
    params: ['id'],
    body: s.setRolesBody,
    bodyRequired: true,
    success: { status: 200, description: 'The user with its new roles', schema: s.adminUserAnswer },
    problems: ['user_not_found'],
  },
  disableUser: {
    method: 'post',
    path: '/auth/admin/users/{id}/disable',
    summary: 'Disable a user',
    description: 'Revokes every session and token of the user; its correct password then answers 403 `account_disabled`.',
    access: permission('users:disable'),
    params: ['id'],
    body: s.emptyBody,
    success: { status: 204, description: 'Disabled' },
    problems: ['user_not_found'],
  },
  revokeAll: {
    method: 'post',
    path: '/auth/admin/revoke-all',
    summary: 'Revoke every token of every user',
    description: 'Incident response: every session ends and every access token issued before now is refused (a global not-before).',
    access: permission('tokens:revoke_all'),
    body: s.emptyBody,
    success: { status: 204, description: 'Revoked' },
    problems: [],
  },
  rotateKey: {
    method: 'post',
    path: '/auth/admin/keys/rotate',
    summary: 'Rotate the access-token signing key',
    description: 'A new key signs from now on, on every replica within 5 s; the old one stays in the JWKS until ACCESS_TOKEN_TTL (+60 s) after it retired.',
    access: permission('keys:rotate'),
    body: s.emptyBody,
    success: { status: 200, description: 'The new key', schema: s.kidAnswer },
    problems: [],
  },
  jwks: {
    method: 'get',
    path: '/.well-known/jwks.json',
    summary: 'Public keys of access tokens (JWKS)',
    access: publicAccess,
    success: { status: 200, description: 'The published keys', schema: s.jwksAnswer },
    problems: [],
  },
  openApi: {
    method: 'get',
    path: '/auth/openapi.json',
    summary: 'This document',
    access: publicAccess,
    success: { status: 200, description: 'OpenAPI 3.1', schema: s.openApiAnswer },
    problems: [],
  },
} as const satisfies Record<string, RouteSpec>

export type OperationId = keyof typeof api

/** Every code a route can answer with: its own, then those of its kind (`kitProblems`); permission routes refuse other roles. */
export function problemsOf(spec: RouteSpec): ErrorCode[] {
  const bearer = spec.access.kind === 'bearer' || spec.access.kind === 'permission'
  return routeProblems(spec, { bearer, internal: spec.internal, extra: spec.access.kind === 'permission' ? ['forbidden'] : [] })
}

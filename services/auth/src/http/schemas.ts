import { z } from 'zod'
import { ROLES } from '@platform/contracts'
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../domain/passwords.ts'

// Wire schemas of the auth API. Requests are validated with these, and the OpenAPI document is
// generated from these (http/api.ts), so the two cannot drift.

/** E-mails are trimmed and compared case-insensitively (CONTRACT §2). */
export const emailSchema = z
  .string()
  .trim()
  .max(254)
  .pipe(z.email({ message: 'expected an e-mail address' }))
  .transform((email) => email.toLowerCase())
  .meta({ format: 'email', description: 'Trimmed and compared case-insensitively' })

export const newPasswordSchema = z
  .string()
  .min(PASSWORD_MIN_LENGTH, { message: `must be at least ${PASSWORD_MIN_LENGTH} characters` })
  .max(PASSWORD_MAX_LENGTH, { message: `must be at most ${PASSWORD_MAX_LENGTH} characters` })
  .meta({ description: 'NIST 800-63B policy: 8..256 characters, not a common password, not your e-mail address or its local part' })

/** A presented password is only length-capped: policy applies when one is chosen, not checked. */
const presentedPasswordSchema = z.string().min(1).max(PASSWORD_MAX_LENGTH)

/** `limit` of a list (CONTRACT §2): default 50, at most 500. */
const limitSchema = z.coerce.number({ message: 'expected a whole number' }).int().min(1).max(500).default(50)

/** An opaque page cursor: the `next_cursor` of the previous page. */
const cursorSchema = z.string().max(128).optional().meta({ description: 'The `next_cursor` of the previous page' })

const timestamp = z.iso.datetime().meta({ description: 'RFC 3339, UTC' })

export const registerBody = z.strictObject({ email: emailSchema, password: newPasswordSchema })

export const loginBody = z.strictObject({
  email: emailSchema,
  password: presentedPasswordSchema,
  token_delivery: z.enum(['body', 'cookie']).default('body'),
})

export const refreshBody = z.strictObject({ refresh_token: z.string().min(1).max(512).optional() })

export const introspectBody = z.object({ token: z.string().min(1).max(8192), token_type_hint: z.string().max(64).optional() })

/** Writes that take no input still refuse unknown fields (CONTRACT §2). */
export const emptyBody = z.strictObject({})

/** The token of the registration e-mail's link (base64url of 32 random bytes). */
export const verifyEmailBody = z.strictObject({ token: z.string().min(1).max(512) })

export const changePasswordBody = z.strictObject({ current_password: presentedPasswordSchema, new_password: newPasswordSchema })

export const forgotPasswordBody = z.strictObject({ email: emailSchema })

/** The token of the reset e-mail's link (base64url of 32 random bytes). */
export const resetPasswordBody = z.strictObject({ token: z.string().min(1).max(512), new_password: newPasswordSchema })

export const sessionsQuery = z.strictObject({ limit: limitSchema, cursor: cursorSchema })

export const usersQuery = z.strictObject({
  email: emailSchema.optional().meta({ description: 'Exact match after normalisation (trimmed, lower case)' }),
  role: z.enum(ROLES).optional().meta({ description: 'Users holding this role' }),
  limit: limitSchema,
  cursor: cursorSchema,
})

export const setRolesBody = z.strictObject({ roles: z.array(z.enum(ROLES)).min(1).max(ROLES.length) })

/** Path ids are UUIDs; anything else cannot name a resource and answers 404. */
export const idParam = z.uuid()

// Answers.

export const tokenAnswer = z.object({
  access_token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int().meta({ description: 'Seconds until the access token expires' }),
  refresh_token: z.string().optional().meta({ description: 'Absent in cookie mode: the refresh token is in the `__Secure-refresh_token` cookie' }),
  csrf_token: z.string().optional().meta({ description: 'Cookie mode only: also in the `__Host-csrf` cookie; send it as `X-CSRF-Token` on refresh' }),
})

/** The one answer of `POST /auth/password/forgot`, whether or not the account exists. */
export const forgotAnswer = z.strictObject({
  message: z.string().meta({ description: 'The same text for every address: it does not say whether an account exists' }),
})

export const registeredAnswer = z.object({ id: z.uuid(), email: z.string(), email_verified: z.boolean() })

export const meAnswer = z.object({ id: z.uuid(), email: z.string(), email_verified: z.boolean(), roles: z.array(z.enum(ROLES)), created_at: timestamp })

export const sessionAnswer = z.object({
  id: z.uuid(),
  created_at: timestamp,
  last_used_at: timestamp,
  user_agent: z.string().nullable(),
  ip_hint: z.string().nullable().meta({ description: 'Coarse origin: IPv4 /24 as `203.0.113.x`, IPv6 /48' }),
  current: z.boolean().meta({ description: 'The session of the token making this request' }),
})

export const sessionsAnswer = z.object({ items: z.array(sessionAnswer), next_cursor: z.string().nullable() })

export const adminUserAnswer = z.object({
  id: z.uuid(),
  email: z.string(),
  email_verified: z.boolean(),
  roles: z.array(z.enum(ROLES)),
  disabled: z.boolean(),
  created_at: timestamp,
})

export const usersAnswer = z.object({ items: z.array(adminUserAnswer), next_cursor: z.string().nullable() })

export const kidAnswer = z.object({ kid: z.string().meta({ description: 'The `kid` of the new active signing key' }) })

export const introspectAnswer = z.object({
  active: z.boolean(),
  sub: z.string().optional(),
  exp: z.number().int().optional(),
  iat: z.number().int().optional(),
  jti: z.string().optional(),
  sid: z.string().optional(),
  roles: z.array(z.string()).optional(),
  token_type: z.string().optional(),
})

export const jwksAnswer = z.object({ keys: z.array(z.looseObject({ kty: z.string(), kid: z.string(), alg: z.string(), use: z.string() })) })

export const openApiAnswer = z.looseObject({ openapi: z.string() })

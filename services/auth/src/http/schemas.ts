import { z } from 'zod'
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../domain/passwords.ts'

/** E-mails are trimmed and compared case-insensitively (CONTRACT §2). */
export const emailSchema = z
  .string()
  .trim()
  .max(254)
  .pipe(z.email({ message: 'expected an e-mail address' }))
  .transform((email) => email.toLowerCase())

export const newPasswordSchema = z
  .string()
  .min(PASSWORD_MIN_LENGTH, { message: `must be at least ${PASSWORD_MIN_LENGTH} characters` })
  .max(PASSWORD_MAX_LENGTH, { message: `must be at most ${PASSWORD_MAX_LENGTH} characters` })

/** A presented password is only length-capped: policy applies when one is chosen, not checked. */
const presentedPasswordSchema = z.string().min(1).max(PASSWORD_MAX_LENGTH)

export const registerBody = z.strictObject({ email: emailSchema, password: newPasswordSchema })

export const loginBody = z.strictObject({
  email: emailSchema,
  password: presentedPasswordSchema,
  token_delivery: z.enum(['body', 'cookie']).default('body'),
})

export const refreshBody = z.strictObject({ refresh_token: z.string().min(1).max(512).optional() })

export const introspectBody = z.object({ token: z.string().min(1).max(8192), token_type_hint: z.string().max(64).optional() })

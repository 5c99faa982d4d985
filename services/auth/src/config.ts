import { z } from 'zod'
import { commonEnv, jsonSchema, parseEnv, portSchema, secondsSchema } from '@platform/platform'
import { DEFAULT_LOCKOUT, type LockoutRule, type LockoutSettings } from './domain/lockout.ts'
import { passwordPolicyViolation } from './domain/password-policy.ts'

const clientList = z
  .string()
  .default('')
  .refine((v) => v === '' || v.split(',').every((pair) => /^[^:]+:.{16,}$/.test(pair.trim())), {
    message: 'expected comma-separated id:secret pairs with secrets of 16+ characters',
  })
  .transform((v) => new Map(v ? v.split(',').map((pair) => pair.trim().split(/:(.*)/s).slice(0, 2) as [string, string]) : []))

const lockoutRule = z.strictObject({
  failures: z.number().int().min(1).max(10_000),
  window_s: z.number().int().min(1).max(86_400),
  /** Additions to CONTRACT §4's shape: the first lock's length and the cap of the back-off. */
  lock_s: z.number().int().min(1).max(86_400).optional(),
  max_lock_s: z.number().int().min(1).max(7 * 86_400).optional(),
})

const toRule = (rule: z.output<typeof lockoutRule> | undefined, fallback: LockoutRule): LockoutRule =>
  rule
    ? { failures: rule.failures, windowS: rule.window_s, lockS: rule.lock_s ?? rule.window_s, maxLockS: rule.max_lock_s ?? fallback.maxLockS }
    : fallback

/** `LOCKOUT` (CONTRACT §1, §4): either rule may be given alone; the other keeps its default. */
const lockoutSchema = jsonSchema(z.strictObject({ per_ip: lockoutRule.optional(), per_account: lockoutRule.optional() })).transform(
  (value): LockoutSettings => ({
    perIp: toRule(value.per_ip, DEFAULT_LOCKOUT.perIp),
    perAccount: toRule(value.per_account, DEFAULT_LOCKOUT.perAccount),
  }),
)

const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === '' ? undefined : v))

const Env = z
  .object({
    ...commonEnv,
    AUTH_PORT: portSchema(4001),
    BIND_HOST: z.string().default('127.0.0.1'),
    TOKEN_AUDIENCE: z.string().min(1).default('platform'),
    ACCESS_TOKEN_TTL: secondsSchema(900),
    REFRESH_TOKEN_TTL: secondsSchema(2_592_000),
    REFRESH_REUSE_LEEWAY: z.coerce.number({ message: 'expected a number of seconds' }).int().min(0).max(300).default(10),
    AUTH_SIGNING_KEY: z.string().optional(),
    AUTH_SIGNING_KEY_FILE: z.string().optional(),
    AUTH_TOKEN_SECRET: z.string().min(32, { message: 'must be at least 32 characters' }).optional(),
    AUTH_TOKEN_SECRET_FILE: z.string().optional(),
    /** Seals link tokens into events for the notification service; both must use the same key. */
    MAIL_TOKEN_KEY: z.string().min(32, { message: 'must be at least 32 characters' }).optional(),
    MAIL_TOKEN_KEY_FILE: z.string().optional(),
    /** Keys `ip_hash` (and the hash of unknown e-mails) in events (CONTRACT §7). */
    IP_HASH_KEY: z.string().min(32, { message: 'must be at least 32 characters' }).optional(),
    IP_HASH_KEY_FILE: z.string().optional(),
    INTROSPECTION_CLIENTS: clientList,
    CORS_ORIGINS: z
      .string()
      .default('')
      .transform((v) => v.split(',').map((o) => o.trim()).filter(Boolean)),
    AUTH_TRUST_PROXY: z.coerce.number({ message: 'expected a number of proxy hops' }).int().min(0).max(10).default(1),
    LOCKOUT: lockoutSchema.optional().transform((v) => v ?? DEFAULT_LOCKOUT),
    BOOTSTRAP_ADMIN_EMAIL: optionalText.pipe(
      z
        .string()
        .trim()
        .pipe(z.email({ message: 'expected an e-mail address' }))
        .transform((email) => email.toLowerCase())
        .optional(),
    ),
    BOOTSTRAP_ADMIN_PASSWORD: optionalText,
  })
  .superRefine((env, ctx) => {
    const email = env.BOOTSTRAP_ADMIN_EMAIL
    const password = env.BOOTSTRAP_ADMIN_PASSWORD
    if ((email === undefined) !== (password === undefined)) {
      const missing = email === undefined ? 'BOOTSTRAP_ADMIN_EMAIL' : 'BOOTSTRAP_ADMIN_PASSWORD'
      ctx.addIssue({ code: 'custom', path: [missing], message: 'BOOTSTRAP_ADMIN_EMAIL and BOOTSTRAP_ADMIN_PASSWORD go together' })
      return
    }
    if (email === undefined || password === undefined) return
    // The first admin's password obeys the same policy as everyone's (and the message never echoes it).
    const violation = passwordPolicyViolation(password, { email })
    if (violation) ctx.addIssue({ code: 'custom', path: ['BOOTSTRAP_ADMIN_PASSWORD'], message: `the password ${violation}` })
  })

/** Auth's settings, validated once at start. */
export type AuthConfig = Readonly<z.output<typeof Env>>

/** Parses auth's environment; throws ConfigError naming the bad variable. */
export function loadAuthConfig(env: NodeJS.ProcessEnv): AuthConfig {
  return parseEnv(Env, env)
}

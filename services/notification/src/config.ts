import { z } from 'zod'
import { commonEnv, parseEnv, portSchema, urlSchema } from '@platform/platform'

const emailAddress = z.string().trim().max(254).pipe(z.email({ message: 'expected an e-mail address' })).transform((v) => v.toLowerCase())

const emailList = z
  .string()
  .default('')
  .transform((v) => v.split(',').map((part) => part.trim()).filter(Boolean))
  .pipe(z.array(emailAddress, { message: 'expected comma-separated e-mail addresses' }))
  .transform((list) => [...new Set(list)])

// `Name <addr@domain>` or a bare address; the domain also names the Message-IDs.
const MAIL_FROM = /^(?:[^<>\r\n]*<[^\s<>@]+@[^\s<>@]+>|[^\s<>@]+@[^\s<>@]+)$/

const wholeNumber = (fallback: number, min: number, max: number, what: string) =>
  z.coerce.number({ message: `expected ${what}` }).int().min(min).max(max).default(fallback)

const Env = z.object({
  ...commonEnv,
  NOTIFICATION_PORT: portSchema(4005),
  BIND_HOST: z.string().default('127.0.0.1'),
  /** Where auth lives: its JWKS verifies the admin's access token. */
  AUTH_URL: urlSchema(['http', 'https']).transform((v) => (v ?? 'http://127.0.0.1:4001').replace(/\/+$/, '')),
  TOKEN_AUDIENCE: z.string().min(1).default('platform'),
  /** Unset: mail is written to `DATA_DIR/mailbox/*.eml` instead of being sent. */
  SMTP_URL: urlSchema(['smtp', 'smtps']),
  MAIL_FROM: z.string().trim().regex(MAIL_FROM, { message: 'expected an address or "Name <address>"' }).optional(),
  ALERT_EMAILS: emailList,
  /** Opens the link tokens auth seals into its events (`sealSecret`); auth must use the same. */
  MAIL_TOKEN_KEY: z.string().min(32, { message: 'must be at least 32 characters' }).optional(),
  MAIL_TOKEN_KEY_FILE: z.string().optional(),
  NOTIFICATION_MAX_ATTEMPTS: wholeNumber(8, 1, 100, 'a number of attempts from 1 to 100'),
  /** Delay after the first failed send; it doubles with each further failure, up to the max. */
  NOTIFICATION_RETRY_BASE_MS: wholeNumber(30_000, 1, 86_400_000, 'a number of milliseconds'),
  NOTIFICATION_RETRY_MAX_MS: wholeNumber(3_600_000, 1, 86_400_000, 'a number of milliseconds'),
  /** How often the sender looks for due deliveries when nothing woke it. */
  NOTIFICATION_POLL_MS: wholeNumber(1_000, 1, 60_000, 'a number of milliseconds'),
  NOTIFICATION_TRUST_PROXY: z.coerce.number({ message: 'expected a number of proxy hops' }).int().min(0).max(10).default(1),
})

/** The notification service's settings, validated once at start. */
export type NotificationConfig = Readonly<z.output<typeof Env>>

/** Parses the notification service's environment; throws ConfigError naming the bad variable. */
export function loadNotificationConfig(env: NodeJS.ProcessEnv): NotificationConfig {
  return parseEnv(Env, env)
}

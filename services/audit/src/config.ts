import { z } from 'zod'
import { commonEnv, parseEnv, portSchema, secondsSchema, urlSchema } from '@platform/platform'

const Env = z.object({
  ...commonEnv,
  AUDIT_PORT: portSchema(4004),
  BIND_HOST: z.string().default('127.0.0.1'),
  /** Where auth lives: its JWKS verifies access tokens. */
  AUTH_URL: urlSchema(['http', 'https']).transform((v) => (v ?? 'http://127.0.0.1:4001').replace(/\/+$/, '')),
  TOKEN_AUDIENCE: z.string().min(1).default('platform'),
  AUDIT_RETENTION_DAYS: z.coerce.number({ message: 'expected a number of days' }).int().positive().max(36_500).default(90),
  AUDIT_DIGEST_INTERVAL: secondsSchema(3600),
  /** Ed25519 private key (PKCS#8 PEM) signing digests. */
  AUDIT_SIGNING_KEY: z.string().optional(),
  AUDIT_SIGNING_KEY_FILE: z.string().optional(),
})

/** The audit service's settings, validated once at start. */
export type AuditConfig = Readonly<z.output<typeof Env>>

/** Parses the audit service's environment; throws ConfigError naming the bad variable. */
export function loadAuditConfig(env: NodeJS.ProcessEnv): AuditConfig {
  return parseEnv(Env, env)
}

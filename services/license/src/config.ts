import { z } from 'zod'
import { commonEnv, jsonSchema, parseEnv, portSchema, urlSchema } from '@platform/platform'

const abuseSchema = z.strictObject({
  fingerprints: z.number().int().positive(),
  window_s: z.number().int().positive().max(30 * 86_400),
})

const Env = z.object({
  ...commonEnv,
  LICENSE_PORT: portSchema(4002),
  BIND_HOST: z.string().default('127.0.0.1'),
  /** Where auth lives: its JWKS verifies access tokens, its `/auth/me` tells a caller's e-mail. */
  AUTH_URL: urlSchema(['http', 'https']).transform((v) => (v ?? 'http://127.0.0.1:4001').replace(/\/+$/, '')),
  TOKEN_AUDIENCE: z.string().min(1).default('platform'),
  LICENSE_KEY_SECRET: z.string().min(32, { message: 'must be at least 32 characters' }).optional(),
  LICENSE_KEY_SECRET_FILE: z.string().optional(),
  LICENSE_SIGNING_KEY: z.string().optional(),
  LICENSE_SIGNING_KEY_FILE: z.string().optional(),
  LICENSE_ABUSE: jsonSchema(abuseSchema).default({ fingerprints: 10, window_s: 3600 }),
  LICENSE_TRUST_PROXY: z.coerce.number({ message: 'expected a number of proxy hops' }).int().min(0).max(10).default(1),
})

/** The license service's settings, validated once at start. */
export type LicenseConfig = Readonly<z.output<typeof Env>>

/** Parses the license service's environment; throws ConfigError naming the bad variable. */
export function loadLicenseConfig(env: NodeJS.ProcessEnv): LicenseConfig {
  return parseEnv(Env, env)
}

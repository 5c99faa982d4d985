import { z } from 'zod'
import { commonEnv, parseEnv, portSchema, secondsSchema } from '@platform/platform'

const clientList = z
  .string()
  .default('')
  .refine((v) => v === '' || v.split(',').every((pair) => /^[^:]+:.{16,}$/.test(pair.trim())), {
    message: 'expected comma-separated id:secret pairs with secrets of 16+ characters',
  })
  .transform((v) => new Map(v ? v.split(',').map((pair) => pair.trim().split(/:(.*)/s).slice(0, 2) as [string, string]) : []))

const Env = z.object({
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
  INTROSPECTION_CLIENTS: clientList,
  CORS_ORIGINS: z
    .string()
    .default('')
    .transform((v) => v.split(',').map((o) => o.trim()).filter(Boolean)),
  AUTH_TRUST_PROXY: z.coerce.number({ message: 'expected a number of proxy hops' }).int().min(0).max(10).default(1),
})

/** Auth's settings, validated once at start. */
export type AuthConfig = Readonly<z.output<typeof Env>>

/** Parses auth's environment; throws ConfigError naming the bad variable. */
export function loadAuthConfig(env: NodeJS.ProcessEnv): AuthConfig {
  return parseEnv(Env, env)
}

import { z } from 'zod'
import { commonEnv, jsonSchema, parseEnv, portSchema, urlSchema } from '@platform/platform'
import { rateLimitOverrides } from './rate-limit/policies.ts'

const upstream = (port: number) => urlSchema(['http', 'https']).transform((v) => v ?? `http://127.0.0.1:${port}`)

const Env = z.object({
  ...commonEnv,
  GATEWAY_PORT: portSchema(8443),
  GATEWAY_HTTP_PORT: portSchema(8080),
  GATEWAY_ADMIN_PORT: portSchema(9090),
  BIND_HOST: z.string().default('127.0.0.1'),
  GATEWAY_ADMIN_HOST: z.string().default('127.0.0.1'),
  GATEWAY_TLS_CERT: z.string().optional(),
  GATEWAY_TLS_KEY: z.string().optional(),
  CORS_ORIGINS: z
    .string()
    .default('')
    .transform((v) => v.split(',').map((o) => o.trim()).filter(Boolean))
    .refine((origins) => origins.every((o) => /^https?:\/\/[^/]+$/.test(o)), { message: 'expected comma-separated origins like https://app.example.com' }),
  TRUST_PROXY: z.coerce.number({ message: 'expected a number of proxy hops' }).int().min(0).max(10).default(0),
  RATE_LIMITS: jsonSchema(rateLimitOverrides).optional(),
  TOKEN_AUDIENCE: z.string().min(1).default('platform'),
  UPSTREAM_TIMEOUT_MS: z.coerce.number({ message: 'expected milliseconds' }).int().positive().max(120_000).default(10_000),
  AUTH_URL: upstream(4001),
  LICENSE_URL: upstream(4002),
  PAYMENTS_URL: upstream(4003),
  AUDIT_URL: upstream(4004),
  NOTIFICATION_URL: upstream(4005),
})

/** The gateway's settings, validated once at start. */
export type GatewayConfig = Readonly<z.output<typeof Env>>

/** Parses the gateway's environment; throws ConfigError naming the bad variable. */
export function loadGatewayConfig(env: NodeJS.ProcessEnv): GatewayConfig {
  return parseEnv(Env, env)
}

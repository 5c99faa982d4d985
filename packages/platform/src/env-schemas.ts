import { z } from 'zod'

/** A TCP port from the environment (`0` lets the OS pick, as tests do). */
export const portSchema = (fallback: number) => z.coerce.number({ message: 'expected a port number' }).int().min(0).max(65535).default(fallback)

/** An optional URL with one of the given schemes; empty counts as unset. */
export const urlSchema = (schemes: readonly string[]) =>
  z
    .string()
    .optional()
    .transform((v) => (v === '' ? undefined : v))
    .refine((v) => v === undefined || schemes.some((s) => v.startsWith(`${s}://`)), {
      message: `expected a URL starting with ${schemes.map((s) => `${s}://`).join(' or ')}`,
    })

/** A positive whole number of seconds. */
export const secondsSchema = (fallback: number) =>
  z.coerce.number({ message: 'expected a number of seconds' }).int().positive().default(fallback)

/** JSON text parsed then checked by `schema`. */
export function jsonSchema<S extends z.ZodType>(schema: S) {
  return z.string().transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown
    } catch {
      ctx.addIssue({ code: 'custom', message: 'expected JSON' })
      return z.NEVER
    }
  }).pipe(schema)
}

/** Settings every service shares (CONTRACT §1). */
export const commonEnv = {
  DATA_DIR: z.string().min(1).default('.data'),
  DATABASE_URL: urlSchema(['postgres', 'postgresql']),
  REDIS_URL: urlSchema(['redis', 'rediss']),
  /** Namespaces every key, so two platforms (or test runs) can share one Redis. */
  REDIS_PREFIX: z.string().max(64).default(''),
  AMQP_URL: urlSchema(['amqp', 'amqps']),
  /** Prefixes every exchange and queue, so two platforms (or test runs) can share one RabbitMQ. */
  AMQP_PREFIX: z.string().max(64).regex(/^[A-Za-z0-9._-]*$/, { message: 'expected letters, digits, dot, dash or underscore' }).default(''),
  PUBLIC_URL: z.string().url({ message: 'expected an absolute URL' }).default('https://localhost:8443').transform((v) => v.replace(/\/+$/, '')),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
}

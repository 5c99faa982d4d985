import { readFile } from 'node:fs/promises'
import { z } from 'zod'
import { commonEnv, ConfigError, parseEnv, portSchema, urlSchema } from '@platform/platform'
import { DEFAULT_PLANS, plansSchema, type Plan } from './domain/plans.ts'

/** An optional variable where empty means unset (compose files and `.env` leave them empty). */
const unsetIfEmpty = <S extends z.ZodType>(schema: S) => z.preprocess((v) => (v === '' ? undefined : v), schema.optional())

const Env = z.object({
  ...commonEnv,
  PAYMENTS_PORT: portSchema(4003),
  BIND_HOST: z.string().default('127.0.0.1'),
  /** Where auth lives: its JWKS verifies access tokens. */
  AUTH_URL: urlSchema(['http', 'https']).transform((v) => (v ?? 'http://127.0.0.1:4001').replace(/\/+$/, '')),
  TOKEN_AUDIENCE: z.string().min(1).default('platform'),
  /** Stripe API key; absent (and no _FILE) → the sandbox provider. */
  STRIPE_SECRET_KEY: unsetIfEmpty(z.string().regex(/^(sk|rk)_[A-Za-z0-9_]+$/, { message: 'expected a Stripe secret or restricted key (sk_… or rk_…)' })),
  STRIPE_SECRET_KEY_FILE: unsetIfEmpty(z.string()),
  /** The endpoint's signing secret; absent (and no _FILE) → every webhook is refused. */
  STRIPE_WEBHOOK_SECRET: unsetIfEmpty(z.string().min(16, { message: 'must be at least 16 characters' })),
  STRIPE_WEBHOOK_SECRET_FILE: unsetIfEmpty(z.string()),
  /** JSON array of plans; see domain/plans.ts. Absent → PAYMENTS_PLANS_FILE, else the embedded defaults. */
  PAYMENTS_PLANS: unsetIfEmpty(z.string()),
  PAYMENTS_PLANS_FILE: unsetIfEmpty(z.string()),
  /** Where Stripe Checkout sends the user back; `{CHECKOUT_SESSION_ID}` is filled in by Stripe. */
  PAYMENTS_SUCCESS_URL: urlSchema(['http', 'https']),
  PAYMENTS_CANCEL_URL: urlSchema(['http', 'https']),
})
  .refine((env) => !(env.PAYMENTS_PLANS && env.PAYMENTS_PLANS_FILE), { message: 'give PAYMENTS_PLANS or PAYMENTS_PLANS_FILE, not both', path: ['PAYMENTS_PLANS_FILE'] })
  .refine((env) => !(env.STRIPE_SECRET_KEY && env.STRIPE_SECRET_KEY_FILE), { message: 'give STRIPE_SECRET_KEY or STRIPE_SECRET_KEY_FILE, not both', path: ['STRIPE_SECRET_KEY_FILE'] })
  .refine((env) => !(env.STRIPE_WEBHOOK_SECRET && env.STRIPE_WEBHOOK_SECRET_FILE), { message: 'give STRIPE_WEBHOOK_SECRET or STRIPE_WEBHOOK_SECRET_FILE, not both', path: ['STRIPE_WEBHOOK_SECRET_FILE'] })

/** The payments service's settings, validated once at start. */
export type PaymentsConfig = Readonly<z.output<typeof Env>>

/** Parses the payments service's environment; throws ConfigError naming the bad variable. */
export function loadPaymentsConfig(env: NodeJS.ProcessEnv): PaymentsConfig {
  return parseEnv(Env, env)
}

/**
 * The plans on offer: PAYMENTS_PLANS (JSON), or the JSON file PAYMENTS_PLANS_FILE names, or the
 * embedded defaults. Validated at start; a bad list stops the start with one line naming the variable.
 */
export async function loadPlans(config: PaymentsConfig): Promise<readonly Plan[]> {
  const variable = config.PAYMENTS_PLANS_FILE ? 'PAYMENTS_PLANS_FILE' : 'PAYMENTS_PLANS'
  let text = config.PAYMENTS_PLANS
  if (config.PAYMENTS_PLANS_FILE) {
    try {
      text = await readFile(config.PAYMENTS_PLANS_FILE, 'utf8')
    } catch (error) {
      throw new ConfigError(`PAYMENTS_PLANS_FILE: cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
    }
  }
  if (text === undefined) return DEFAULT_PLANS
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new ConfigError(`${variable}: expected JSON`)
  }
  const parsed = plansSchema.safeParse(value)
  if (parsed.success) return Object.freeze(parsed.data)
  const issue = parsed.error.issues[0]!
  const where = issue.path.length ? `[${issue.path.map(String).join('].[')}]` : ''
  throw new ConfigError(`${variable}${where}: ${issue.message}`)
}

/** A secret from its variable or the file its `_FILE` twin names; undefined when neither is set. */
export async function readOptionalSecret(value: string | undefined, file: string | undefined, variable: string): Promise<string | undefined> {
  if (value) return value
  if (!file) return undefined
  try {
    const secret = (await readFile(file, 'utf8')).trim()
    return secret || undefined
  } catch (error) {
    throw new ConfigError(`${variable}_FILE: cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
  }
}

import { z } from 'zod'

/** A named rate-limit policy: at most `limit` requests per `window_s` seconds for one key. */
export type Policy = { name: string; limit: number; windowS: number }

/** CONTRACT §3 defaults; `RATE_LIMITS` overrides any of them by name. */
export const DEFAULT_POLICIES = {
  anonymous: { limit: 60, window_s: 60 },
  authenticated: { limit: 120, window_s: 60 },
  login_ip: { limit: 5, window_s: 60 },
  login_email: { limit: 5, window_s: 60 },
  register_ip: { limit: 5, window_s: 3600 },
  password_reset_ip: { limit: 5, window_s: 3600 },
  password_reset_email: { limit: 3, window_s: 3600 },
  license_activate_ip: { limit: 10, window_s: 3600 },
  license_activate_key: { limit: 10, window_s: 3600 },
  license_generate: { limit: 20, window_s: 3600 },
} as const

export type PolicyName = keyof typeof DEFAULT_POLICIES

const override = z.strictObject({
  limit: z.number().int().positive(),
  window_s: z.number().int().positive().max(86_400),
})

/** Schema of `RATE_LIMITS`: unknown policy names are an error, so a typo cannot silently do nothing. */
export const rateLimitOverrides = z.partialRecord(
  z.enum(Object.keys(DEFAULT_POLICIES) as [PolicyName, ...PolicyName[]]),
  override,
)

/** The effective policies after overrides. */
export function resolvePolicies(overrides: z.output<typeof rateLimitOverrides> = {}): Record<PolicyName, Policy> {
  return Object.fromEntries(
    Object.entries(DEFAULT_POLICIES).map(([name, value]) => {
      const chosen = overrides[name as PolicyName] ?? value
      return [name, { name, limit: chosen.limit, windowS: chosen.window_s }]
    }),
  ) as Record<PolicyName, Policy>
}

/** Where a sensitive policy takes its key from. */
export type KeySource = 'ip' | 'user' | { bodyField: string }

/**
 * Routes with sensitive policies beyond the general one (CONTRACT §3). Adding a policy to a route
 * is one line here. These policies fail closed: without the store, the route answers 503.
 */
export const ROUTE_POLICIES: readonly { method: string; path: string; policies: readonly { policy: PolicyName; key: KeySource }[] }[] = [
  { method: 'POST', path: '/auth/login', policies: [{ policy: 'login_ip', key: 'ip' }, { policy: 'login_email', key: { bodyField: 'email' } }] },
  { method: 'POST', path: '/auth/register', policies: [{ policy: 'register_ip', key: 'ip' }] },
  { method: 'POST', path: '/auth/password/forgot', policies: [{ policy: 'password_reset_ip', key: 'ip' }, { policy: 'password_reset_email', key: { bodyField: 'email' } }] },
  { method: 'POST', path: '/licenses/activate', policies: [{ policy: 'license_activate_ip', key: 'ip' }, { policy: 'license_activate_key', key: { bodyField: 'key' } }] },
  { method: 'POST', path: '/licenses', policies: [{ policy: 'license_generate', key: 'user' }] },
]

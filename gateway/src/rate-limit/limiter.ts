import { createHash } from 'node:crypto'
import type { Kv } from '@platform/kv'
import type { Policy } from './policies.ts'

/** The outcome of one counted request against one policy. */
export type RateDecision = { policy: Policy; allowed: boolean; remaining: number; resetS: number }

/**
 * Counts a request against a policy in the shared store, one atomic step per decision (PITFALLS:
 * GET-then-SET limiters miscount under concurrency), so all gateway replicas share one budget.
 * Keys are hashed: raw IPs and e-mails never sit in Redis.
 */
export async function consume(kv: Kv, policy: Policy, key: string): Promise<RateDecision> {
  const digest = createHash('sha256').update(key).digest('base64url').slice(0, 32)
  const { count, resetMs } = await kv.hit(`rl:${policy.name}:${digest}`, policy.windowS * 1000)
  return {
    policy,
    allowed: count <= policy.limit,
    remaining: Math.max(0, policy.limit - count),
    resetS: Math.max(1, Math.ceil(resetMs / 1000)),
  }
}

/** The `RateLimit-Policy` / `RateLimit` headers (IETF httpapi draft, structured fields). */
export function rateLimitHeaders(decision: RateDecision): Record<string, string> {
  const { policy } = decision
  return {
    'RateLimit-Policy': `"${policy.name}";q=${policy.limit};w=${policy.windowS}`,
    RateLimit: `"${policy.name}";r=${decision.remaining};t=${decision.resetS}`,
    ...(decision.allowed ? {} : { 'Retry-After': String(decision.resetS) }),
  }
}

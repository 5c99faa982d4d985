import { hash } from 'node:crypto'
import type { Kv } from '@platform/kv'
import type { Policy } from './policies.ts'

/** The outcome of one counted request against one policy. */
export type RateDecision = { policy: Policy; allowed: boolean; remaining: number; resetS: number }

/** The store key of one policy's counter for one client; hashed, so raw IPs and e-mails never sit in Redis. */
export function counterKey(policy: Policy, key: string): string {
  return `rl:${policy.name}:${hash('sha256', key, 'base64url').slice(0, 32)}`
}

/** Turns a counter reading into a decision for `policy`. */
export function decide(policy: Policy, counter: { count: number; resetMs: number }): RateDecision {
  return {
    policy,
    allowed: counter.count <= policy.limit,
    remaining: Math.max(0, policy.limit - counter.count),
    resetS: Math.max(1, Math.ceil(counter.resetMs / 1000)),
  }
}

/**
 * Counts a request against a policy in the shared store, one atomic step per decision (PITFALLS:
 * GET-then-SET limiters miscount under concurrency), so all gateway replicas share one budget.
 */
export async function consume(kv: Kv, policy: Policy, key: string): Promise<RateDecision> {
  return decide(policy, await kv.hit(counterKey(policy, key), policy.windowS * 1000))
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

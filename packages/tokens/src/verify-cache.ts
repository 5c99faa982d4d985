import { hash } from 'node:crypto'
import type { AccessTokenClaims } from './access-token.ts'

export type CachedVerifierOptions = {
  verify: (token: string) => Promise<AccessTokenClaims>
  issuer: string
  audience: string
  maxEntries?: number
  clockToleranceSeconds?: number
  now?: () => number
}

/**
 * Remembers which token strings passed signature and claim checks, so the gateway's hot path
 * does not repeat the ES256 verification for every request of a session. Keyed by SHA-256 of
 * issuer, audience and the whole token (PITFALLS: a key missing any input of the decision has
 * caused bypasses); only successes are kept, an entry dies with its token's `exp`, and
 * revocation is never cached — callers still check it on every request.
 */
export function cachedVerifier(opts: CachedVerifierOptions): (token: string) => Promise<AccessTokenClaims> {
  const maxEntries = opts.maxEntries ?? 10_000
  const tolerance = opts.clockToleranceSeconds ?? 30
  const now = opts.now ?? Date.now
  const cache = new Map<string, AccessTokenClaims>()
  return async (token) => {
    const key = hash('sha256', `${opts.issuer}\u0000${opts.audience}\u0000${token}`, 'base64url')
    const hit = cache.get(key)
    if (hit && hit.exp + tolerance > now() / 1000) return hit
    if (hit) cache.delete(key)
    const claims = await opts.verify(token)
    // Insertion order makes the Map a FIFO: the oldest entry goes first when it is full.
    if (cache.size >= maxEntries) cache.delete(cache.keys().next().value!)
    cache.set(key, claims)
    return claims
  }
}

import { createPublicKey, type KeyObject } from 'node:crypto'
import type { PublicJwk, SigningKey } from './signing-key.ts'

/** A JSON Web Key Set as served at `/.well-known/jwks.json`. */
export type Jwks = { keys: PublicJwk[] }

/** The JWKS document of some signing keys (public halves only). */
export function toJwks(keys: readonly SigningKey[]): Jwks {
  return { keys: keys.map((key) => key.publicJwk) }
}

export type JwksClient = {
  /** The public key for `kid`; an unknown kid triggers one refresh (at most every `minRefreshMs`). */
  resolveKey(kid: string): Promise<KeyObject | undefined>
  /** Loads the set now; rejects if the source is unreachable. */
  refresh(): Promise<void>
}

/**
 * A cache of public keys by `kid`, built once per key as `KeyObject`s (3x faster to verify with
 * than PEM strings, PITFALLS). Unknown kids refresh the set, rate-limited so that a flood of
 * tokens with random kids cannot turn into a flood of JWKS fetches.
 */
export function createJwksClient(opts: { fetchJwks: () => Promise<Jwks>; minRefreshMs?: number; maxAgeMs?: number; now?: () => number }): JwksClient {
  const minRefreshMs = opts.minRefreshMs ?? 5000
  const maxAgeMs = opts.maxAgeMs ?? 300_000
  const now = opts.now ?? Date.now
  let keys = new Map<string, KeyObject>()
  let lastRefresh = -Infinity
  let inflight: Promise<void> | undefined

  async function refresh(): Promise<void> {
    inflight ??= (async () => {
      try {
        const jwks = await opts.fetchJwks()
        const next = new Map<string, KeyObject>()
        for (const jwk of jwks.keys) {
          if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || typeof jwk.kid !== 'string') continue
          next.set(jwk.kid, createPublicKey({ key: jwk, format: 'jwk' }))
        }
        keys = next
      } finally {
        // A failed attempt counts too: while the source is down, random kids must not turn
        // into one fetch each.
        lastRefresh = now()
        inflight = undefined
      }
    })()
    return inflight
  }

  return {
    refresh,
    async resolveKey(kid) {
      const known = keys.get(kid)
      // Re-read the set in the background once it is old, so a key the issuer withdrew stops
      // being trusted without a restart.
      if (now() - lastRefresh > maxAgeMs && !inflight) void refresh().catch(() => undefined)
      if (known) return known
      if (now() - lastRefresh < minRefreshMs) return undefined
      await refresh().catch(() => undefined)
      return keys.get(kid)
    },
  }
}

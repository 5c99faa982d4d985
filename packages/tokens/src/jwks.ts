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

const JWKS_FETCH_TIMEOUT_MS = 2000

/**
 * Reads a JWKS over HTTP within 2 s. A connection that fails before any answer (a keep-alive
 * socket the server closed a moment ago: ECONNRESET) is tried once more on a fresh one.
 */
export async function fetchJwks(url: string): Promise<Jwks> {
  const attempt = async () => {
    const response = await fetch(url, { signal: AbortSignal.timeout(JWKS_FETCH_TIMEOUT_MS) })
    if (!response.ok) throw new Error(`JWKS at ${url} answered ${response.status}`)
    return (await response.json()) as Jwks
  }
  try {
    return await attempt()
  } catch (error) {
    if (!(error instanceof TypeError)) throw error // fetch reports network failures as TypeError
    return attempt()
  }
}

/**
 * The JWKS client every service and the gateway start with: auth's `/.well-known/jwks.json`,
 * loaded once now. Auth being unreachable at start is not fatal (it may start later); the
 * first token with a kid not yet known loads the set again.
 */
export async function openAuthJwks(opts: { authUrl: string; log: { warn(obj: object, msg: string): void } }): Promise<JwksClient> {
  const url = `${opts.authUrl}/.well-known/jwks.json`
  const jwks = createJwksClient({ fetchJwks: () => fetchJwks(url) })
  await jwks.refresh().catch((error: unknown) => opts.log.warn({ err: error }, 'auth JWKS not reachable yet; will retry on first token'))
  return jwks
}

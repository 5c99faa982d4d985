import { TokenError, verifyAccessToken, type AccessTokenClaims } from './access-token.ts'
import type { KeyObject } from 'node:crypto'
import { checkRevocation, type RevocationReader } from './revocation.ts'

export type BearerOutcome =
  | { kind: 'valid'; claims: AccessTokenClaims }
  | { kind: 'invalid'; code: 'invalid_token' | 'token_expired' }
  | { kind: 'unavailable' }

export type BearerVerifier = {
  resolveKey: (kid: string) => KeyObject | undefined | Promise<KeyObject | undefined>
  revocations: RevocationReader
  issuer: string
  audience: string
}

/**
 * The whole check of a bearer access token, shared by the gateway and every service: signature,
 * `iss`/`aud`/`exp`/`nbf`/`typ`, then revocation in the shared store. Nothing is cached between
 * requests, so a revocation holds everywhere as soon as it is in the store. A store that cannot
 * be read means `unavailable`: callers answer 503 and never let the token through.
 */
export async function verifyBearerToken(token: string, deps: BearerVerifier): Promise<BearerOutcome> {
  let claims: AccessTokenClaims
  try {
    claims = await verifyAccessToken(token, { resolveKey: deps.resolveKey, issuer: deps.issuer, audience: deps.audience })
  } catch (error) {
    if (error instanceof TokenError) return { kind: 'invalid', code: error.code }
    throw error
  }
  try {
    const verdict = await checkRevocation(deps.revocations, claims)
    if (verdict === 'unknown') return { kind: 'unavailable' }
    if (verdict === 'revoked') return { kind: 'invalid', code: 'invalid_token' }
    return { kind: 'valid', claims }
  } catch {
    return { kind: 'unavailable' }
  }
}

/**
 * The token of an `Authorization` header: `undefined` when the request has no bearer credential,
 * `null` when it names the Bearer scheme (any case, RFC 7235) but the token is malformed.
 */
export function bearerTokenOf(header: string | undefined): string | null | undefined {
  if (!header || !/^bearer(\s|$)/i.test(header)) return undefined
  return /^bearer +([A-Za-z0-9._~+/=-]+)$/i.exec(header)?.[1] ?? null
}

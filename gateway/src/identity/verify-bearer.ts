import type { Kv } from '@platform/kv'
import { checkRevocation, TokenError, verifyAccessToken, type AccessTokenClaims, type JwksClient } from '@platform/tokens'

export type BearerOutcome =
  | { kind: 'valid'; claims: AccessTokenClaims }
  | { kind: 'invalid'; code: 'invalid_token' | 'token_expired' }
  | { kind: 'unavailable' }

/**
 * The gateway's token check: signature against auth's JWKS, `iss`/`aud`/`exp`/`nbf`/`typ`, then
 * revocation in the shared store. Nothing is cached between requests, so a revocation holds at
 * every replica as soon as it is in the store. A store it cannot read means `unavailable`:
 * the caller answers 503, never lets the token through.
 */
export async function verifyBearer(
  token: string,
  deps: { jwks: JwksClient; kv: Kv; issuer: string; audience: string },
): Promise<BearerOutcome> {
  let claims: AccessTokenClaims
  try {
    claims = await verifyAccessToken(token, { resolveKey: (kid) => deps.jwks.resolveKey(kid), issuer: deps.issuer, audience: deps.audience })
  } catch (error) {
    if (error instanceof TokenError) return { kind: 'invalid', code: error.code }
    throw error
  }
  try {
    const verdict = await checkRevocation(deps.kv, claims)
    if (verdict === 'unknown') return { kind: 'unavailable' }
    if (verdict === 'revoked') return { kind: 'invalid', code: 'invalid_token' }
    return { kind: 'valid', claims }
  } catch {
    return { kind: 'unavailable' }
  }
}

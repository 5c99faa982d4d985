export { ACCESS_TOKEN_TYPE, TokenError, signAccessToken, verifyAccessToken } from './access-token.ts'
export type { AccessTokenClaims, SignAccessTokenInput, VerifyOptions } from './access-token.ts'
export { createJwksClient, fetchJwks, openAuthJwks, toJwks, type Jwks, type JwksClient } from './jwks.ts'
export {
  SIGNING_ALGORITHM,
  generateSigningKey,
  jwkThumbprint,
  signingKeyFromPem,
  signingKeyToPem,
  type PublicJwk,
  type SigningKey,
} from './signing-key.ts'
export {
  checkRevocation,
  revocationKeys,
  revocationKeysFor,
  revocationVerdict,
  type RevocationReader,
  type RevocationVerdict,
} from './revocation.ts'
export { bearerTokenOf, verifyBearerToken, type BearerOutcome, type BearerVerifier } from './bearer.ts'
export { cachedVerifier, type CachedVerifierOptions } from './verify-cache.ts'

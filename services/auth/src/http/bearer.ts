import { requireBearer } from '@platform/tokens/express'
import type { AuthDeps } from '../domain/deps.ts'

export { claimsOf } from '@platform/tokens/express'

/** Auth verifies its own tokens with its own keys (no JWKS round trip) and the shared lists. */
export function bearerFor(deps: AuthDeps) {
  return requireBearer({
    resolveKey: (kid) => deps.keys.publicKey(kid),
    revocations: deps.revocations.reader,
    issuer: deps.tokens.issuer,
    audience: deps.tokens.audience,
  })
}

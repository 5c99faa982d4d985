import type { LicenseDeps } from './deps.ts'
import { signLicenseToken } from './license-token.ts'
import { tokenTimes, type License } from './license.ts'

/** A signed license token with its two deadlines. */
export type IssuedToken = { token: string; validateBefore: Date; graceUntil: Date }

/**
 * Signs the token for one machine of a license after a successful online validation at `now`
 * (activation counts as one): `vb` 24 h later, `exp` at the end of the grace or the license's
 * expiry, whichever comes first.
 */
export function issueTokenFor(deps: Pick<LicenseDeps, 'keys' | 'tokens'>, license: License, fpHash: string, now: Date): IssuedToken {
  const { iat, vb, exp } = tokenTimes(now, license.expiresAt, deps.tokens)
  const token = signLicenseToken(deps.keys.active(), {
    iss: deps.tokens.issuer,
    sub: license.id,
    aud: license.product,
    fp: fpHash,
    ent: license.entitlements,
    iat,
    vb,
    exp,
  })
  return { token, validateBefore: new Date(vb * 1000), graceUntil: new Date(exp * 1000) }
}

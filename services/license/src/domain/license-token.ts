import { sign as cryptoSign } from 'node:crypto'
import { fingerprintHash, LICENSE_TOKEN_ALGORITHM, LICENSE_TOKEN_TYPE, type LicenseClaims } from '@platform/license-client'
import type { SigningKey } from '@platform/tokens'

/**
 * Signs a license token (CONTRACT §5) with `typ: license+jwt` and the key's `kid`. The `fp`
 * claim is the SHA-256 of the fingerprint, never the fingerprint itself. Signed with node:crypto
 * directly: the claims are ours, and the raw signature is what `@platform/license-client` checks.
 */
export function signLicenseToken(key: SigningKey, claims: LicenseClaims): string {
  const header = { alg: LICENSE_TOKEN_ALGORITHM, typ: LICENSE_TOKEN_TYPE, kid: key.kid }
  const input = `${encode(header)}.${encode(claims)}`
  const signature = cryptoSign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
  return `${input}.${signature.toString('base64url')}`
}

function encode(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

export { fingerprintHash }

import { createHash, createPublicKey, verify as cryptoVerify, type JsonWebKey, type KeyObject } from 'node:crypto'

/** The JOSE `typ` of a license token; an access token (`at+jwt`) is never taken for one. */
export const LICENSE_TOKEN_TYPE = 'license+jwt'

/** The one signature algorithm license tokens use; anything else in `alg` is refused. */
export const LICENSE_TOKEN_ALGORITHM = 'ES256'

/**
 * Claims of a license token (CONTRACT §5). Times are seconds since the epoch: `vb` is when the
 * app should validate online again, `exp` when it must stop (end of the offline grace).
 */
export type LicenseClaims = {
  iss: string
  /** The license id. */
  sub: string
  /** The product the license is for. */
  aud: string
  /** base64url SHA-256 of the machine fingerprint the token is bound to. */
  fp: string
  /** Entitlements granted by the license. */
  ent: string[]
  iat: number
  vb: number
  exp: number
}

/** A JSON Web Key Set as published at `/licenses/.well-known/jwks.json`. */
export type Jwks = { keys: (JsonWebKey & { kid?: string })[] }

/** Why a token was refused before its claims were even looked at. */
export type SignatureFailure = 'malformed' | 'wrong_type' | 'unknown_key' | 'bad_signature'

/** Thrown by {@link verifyLicenseSignature}; `reason` is stable, the message is for logs. */
export class LicenseTokenError extends Error {
  readonly reason: SignatureFailure
  constructor(reason: SignatureFailure, message: string) {
    super(message)
    this.name = 'LicenseTokenError'
    this.reason = reason
  }
}

/** Public keys by `kid`, built once as `KeyObject`s (3x faster to verify with than PEM, PITFALLS). */
export type KeySet = ReadonlyMap<string, KeyObject>

const MAX_TOKEN_LENGTH = 8192

/**
 * Builds the key set of a pinned JWKS. Only EC P-256 keys with a `kid` are kept: a key of any
 * other type could only serve an algorithm-confusion attack.
 *
 * @example
 * const keys = keySetFromJwks(JSON.parse(readFileSync('license-jwks.json', 'utf8')))
 */
export function keySetFromJwks(jwks: Jwks): KeySet {
  const keys = new Map<string, KeyObject>()
  for (const jwk of jwks.keys) {
    if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || typeof jwk.kid !== 'string' || jwk.d !== undefined) continue
    if (jwk.alg !== undefined && jwk.alg !== LICENSE_TOKEN_ALGORITHM) continue
    keys.set(jwk.kid, createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, format: 'jwk' }))
  }
  return keys
}

/**
 * The base64url SHA-256 of a fingerprint's UTF-8 bytes: what the `fp` claim holds. The raw
 * fingerprint never leaves the machine inside a token.
 */
export function fingerprintHash(fingerprint: string): string {
  return createHash('sha256').update(fingerprint, 'utf8').digest('base64url')
}

/**
 * Checks a compact license token's form and signature and returns its claims; no time, product
 * or machine check happens here (see `createLicenseVerifier` for those). `alg` is pinned to
 * ES256, `typ` must be `license+jwt`, the `kid` must be in `keys`, and every claim must be
 * present with its type. Throws {@link LicenseTokenError}.
 */
export function verifyLicenseSignature(token: string, keys: KeySet): LicenseClaims {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) throw new LicenseTokenError('malformed', 'not a token')
  const parts = token.split('.')
  if (parts.length !== 3) throw new LicenseTokenError('malformed', 'expected three parts')
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string]
  const header = decodeJson(headerPart)
  if (header.alg !== LICENSE_TOKEN_ALGORITHM) throw new LicenseTokenError('malformed', 'unexpected algorithm')
  if (header.typ !== LICENSE_TOKEN_TYPE) throw new LicenseTokenError('wrong_type', 'not a license token')
  if (typeof header.kid !== 'string') throw new LicenseTokenError('malformed', 'missing kid')
  const key = keys.get(header.kid)
  if (!key) throw new LicenseTokenError('unknown_key', 'unknown kid')
  const signature = Buffer.from(signaturePart, 'base64url')
  // A P-256 signature is exactly r || s, 64 bytes (RFC 7518 §3.4).
  if (signature.length !== 64) throw new LicenseTokenError('bad_signature', 'bad signature length')
  const signed = Buffer.from(`${headerPart}.${payloadPart}`)
  if (!cryptoVerify('sha256', signed, { key, dsaEncoding: 'ieee-p1363' }, signature)) {
    throw new LicenseTokenError('bad_signature', 'signature does not verify')
  }
  const claims = decodeJson(payloadPart)
  if (!isLicenseClaims(claims)) throw new LicenseTokenError('malformed', 'missing or malformed claims')
  return claims
}

function decodeJson(part: string): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))
  } catch {
    throw new LicenseTokenError('malformed', 'part is not base64url JSON')
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new LicenseTokenError('malformed', 'part is not a JSON object')
  return value as Record<string, unknown>
}

function isLicenseClaims(c: Record<string, unknown>): c is LicenseClaims & Record<string, unknown> {
  return (
    typeof c.iss === 'string' &&
    typeof c.sub === 'string' &&
    typeof c.aud === 'string' &&
    typeof c.fp === 'string' &&
    Array.isArray(c.ent) &&
    c.ent.every((e) => typeof e === 'string') &&
    Number.isFinite(c.iat) &&
    Number.isFinite(c.vb) &&
    Number.isFinite(c.exp)
  )
}

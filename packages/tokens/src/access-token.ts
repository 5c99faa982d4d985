import { randomUUID, sign as cryptoSign, type KeyObject } from 'node:crypto'
import jwt from 'jsonwebtoken'
import { SIGNING_ALGORITHM, type SigningKey } from './signing-key.ts'

/** RFC 9068 media type of JWT access tokens; anything else in `typ` is refused. */
export const ACCESS_TOKEN_TYPE = 'at+jwt'

/** Claims of an access token (CONTRACT §4). */
export type AccessTokenClaims = {
  iss: string
  aud: string
  sub: string
  iat: number
  nbf: number
  exp: number
  jti: string
  sid: string
  roles: string[]
  email_verified: boolean
}

/** Why a token was refused: `token_expired` only for a genuine, expired token. */
export class TokenError extends Error {
  readonly code: 'invalid_token' | 'token_expired'
  constructor(code: 'invalid_token' | 'token_expired', message: string) {
    super(message)
    this.name = 'TokenError'
    this.code = code
  }
}

export type SignAccessTokenInput = {
  key: SigningKey
  issuer: string
  audience: string
  ttlSeconds: number
  subject: string
  sessionId: string
  roles: readonly string[]
  emailVerified: boolean
  /** Seconds; lets the issuer push `iat` past a not-before instant set in the same second. */
  issuedAt?: number
  tokenId?: string
}

const base64urlJson = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')

/** Signs an access token with `typ: at+jwt` and the key's `kid`. */
export function signAccessToken(input: SignAccessTokenInput): { token: string; claims: AccessTokenClaims } {
  const iat = input.issuedAt ?? Math.floor(Date.now() / 1000)
  const claims: AccessTokenClaims = {
    iss: input.issuer,
    aud: input.audience,
    sub: input.subject,
    iat,
    nbf: iat,
    exp: iat + input.ttlSeconds,
    jti: input.tokenId ?? randomUUID(),
    sid: input.sessionId,
    roles: [...input.roles],
    email_verified: input.emailVerified,
  }
  // A compact JWS signed with node:crypto directly (as license tokens are): jsonwebtoken's sign
  // path cost as much as the rest of a refresh rotation. Verification stays with jsonwebtoken.
  const header = { alg: SIGNING_ALGORITHM, typ: ACCESS_TOKEN_TYPE, kid: input.key.kid }
  const signingInput = `${base64urlJson(header)}.${base64urlJson(claims)}`
  const signature = cryptoSign('sha256', Buffer.from(signingInput), { key: input.key.privateKey, dsaEncoding: 'ieee-p1363' })
  return { token: `${signingInput}.${signature.toString('base64url')}`, claims }
}

export type VerifyOptions = {
  /** Returns the public key for a `kid`, or undefined when the kid is unknown. */
  resolveKey: (kid: string) => KeyObject | undefined | Promise<KeyObject | undefined>
  issuer: string
  audience: string
  clockToleranceSeconds?: number
  now?: () => number
}

const MAX_TOKEN_LENGTH = 8192

/**
 * Verifies an access token the way PITFALLS asks: algorithm pinned to ES256, a known `kid`
 * required, `typ` must be `at+jwt`, `exp` required, `iss`/`aud`/`nbf` checked with leeway.
 * Throws TokenError; never returns claims of a token that failed any check.
 */
export async function verifyAccessToken(token: string, opts: VerifyOptions): Promise<AccessTokenClaims> {
  if (token.length > MAX_TOKEN_LENGTH) throw new TokenError('invalid_token', 'token too long')
  let decoded: jwt.Jwt | null
  try {
    // jws.decode JSON-parses the payload when `typ` is 'JWT' and throws on garbage there.
    decoded = jwt.decode(token, { complete: true })
  } catch {
    throw new TokenError('invalid_token', 'malformed token')
  }
  if (!decoded || typeof decoded.payload === 'string') throw new TokenError('invalid_token', 'malformed token')
  const { header } = decoded
  if (header.alg !== SIGNING_ALGORITHM) throw new TokenError('invalid_token', 'unexpected algorithm')
  // The header is attacker JSON: `typ` may be any type, and a number must not crash the check.
  if (typeof header.typ !== 'string') throw new TokenError('invalid_token', 'unexpected token type')
  if (header.typ.toLowerCase() !== ACCESS_TOKEN_TYPE && header.typ?.toLowerCase() !== `application/${ACCESS_TOKEN_TYPE}`) {
    throw new TokenError('invalid_token', 'unexpected token type')
  }
  if (typeof header.kid !== 'string') throw new TokenError('invalid_token', 'missing kid')
  const key = await opts.resolveKey(header.kid)
  if (!key) throw new TokenError('invalid_token', 'unknown kid')

  let payload: jwt.JwtPayload
  try {
    payload = jwt.verify(token, key, {
      algorithms: [SIGNING_ALGORITHM],
      issuer: opts.issuer,
      audience: opts.audience,
      clockTolerance: opts.clockToleranceSeconds ?? 30,
      clockTimestamp: opts.now ? Math.floor(opts.now() / 1000) : undefined,
    }) as jwt.JwtPayload
  } catch (error) {
    if (error instanceof jwt.TokenExpiredError) throw new TokenError('token_expired', 'token expired')
    throw new TokenError('invalid_token', error instanceof Error ? error.message : 'invalid token')
  }
  if (!isAccessTokenClaims(payload)) throw new TokenError('invalid_token', 'missing or malformed claims')
  return payload
}

function isAccessTokenClaims(p: jwt.JwtPayload): p is AccessTokenClaims & jwt.JwtPayload {
  return (
    typeof p.exp === 'number' &&
    typeof p.iat === 'number' &&
    typeof p.sub === 'string' &&
    typeof p.jti === 'string' &&
    typeof p.sid === 'string' &&
    Array.isArray(p.roles) &&
    p.roles.every((r: unknown) => typeof r === 'string')
  )
}

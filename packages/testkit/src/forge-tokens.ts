import {
  createHmac,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign as cryptoSign,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto'

/** A JOSE header or JWT claims set, as plain JSON. */
export type JoseObject = Record<string, unknown>

/** Signs `header.payload` with the issuer's real private key and returns the compact token. */
export type SignWithRealKey = (header: JoseObject, payload: JoseObject) => string

export type ForgeAttackTokensOptions = {
  /** A token the verifier under test accepts; every attack is derived from it. */
  valid: string
  /** The real public key as published in the JWKS (its `kid` is reused by some attacks). */
  publicJwk: JsonWebKey & { kid: string }
  /** The issuer and audience the verifier expects, so the wrong ones surely differ. */
  issuer: string
  audience: string
  /**
   * Signs with the REAL private key. Without it the claim attacks (`expired`, `wrong_aud`, ...)
   * are left out: signed with any other key they would be refused for their signature, and a
   * test would pass while the claim check it meant to prove is missing.
   */
  sign?: SignWithRealKey
  /** Clock in milliseconds the claim attacks are dated against; `Date.now` unless given. */
  now?: () => number
}

const HOUR_SECONDS = 3600

/**
 * Tokens a correct access-token verifier must refuse, each derived from one valid token and
 * named by the attack it stands for, built by hand with `node:crypto` so that no JWT library's
 * own safety checks can stop the forgery from being made.
 *
 * Always present:
 * - `alg_none`: `alg: none` and an empty signature (CVE-2015-9235 family).
 * - `hs256_with_public_key`, `hs256_with_public_key_der`: HS256 keyed with the public key's PEM
 *   text / SPKI DER bytes, the key-confusion attack on verifiers that take `alg` from the token
 *   (auth0/node-jsonwebtoken #423).
 * - `unknown_kid`: ES256 by a stranger's key under a random `kid`.
 * - `foreign_key_known_kid`: ES256 by a stranger's key under the REAL `kid`.
 * - `tampered_payload`: the claims re-encoded with `roles: ['admin']`, the original signature kept.
 * - `typ_not_string`: `typ` is a number; must be refused, not crash the verifier.
 *
 * With `sign` (the real private key), only the named claim or header field is wrong:
 * `expired` (exp an hour ago; should yield `token_expired`), `wrong_aud`, `wrong_iss`,
 * `wrong_typ` (`JWT`), `missing_exp`, `not_yet_valid` (nbf an hour ahead).
 *
 * Not here on purpose: the ECDSA "high-S twin" of a valid token verifies (signatures are
 * malleable), so it is no attack to refuse; revocation must key on `jti`/`sid` instead (PITFALLS).
 *
 * @example
 * const attacks = forgeAttackTokens({
 *   valid: token, publicJwk: key.publicJwk, issuer, audience,
 *   sign: (header, payload) => signWith(key.privateKey, header, payload),
 * })
 * for (const [name, forged] of Object.entries(attacks)) await assert.rejects(verify(forged), name)
 */
export function forgeAttackTokens(opts: ForgeAttackTokensOptions): Record<string, string> {
  const { header, payload, signature } = decodeCompact(opts.valid)
  // A mismatch here means the caller handed in the wrong token or settings; the "wrong_*"
  // attacks would then not be wrong in the one way they claim to be.
  if (payload.iss !== opts.issuer || payload.aud !== opts.audience) {
    throw new Error(
      'forgeAttackTokens: the valid token does not carry the given issuer and audience',
    )
  }
  if (header.kid !== opts.publicJwk.kid) {
    throw new Error('forgeAttackTokens: the valid token was not signed under publicJwk.kid')
  }

  const publicKey = createPublicKey({ key: opts.publicJwk, format: 'jwk' })
  const pem = publicKey.export({ format: 'pem', type: 'spki' }).toString()
  const der = publicKey.export({ format: 'der', type: 'spki' })
  const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey

  const tokens: Record<string, string> = {
    alg_none: `${encodePart({ ...header, alg: 'none' })}.${encodePart(payload)}.`,
    hs256_with_public_key: signHs256({ ...header, alg: 'HS256' }, payload, pem),
    hs256_with_public_key_der: signHs256({ ...header, alg: 'HS256' }, payload, der),
    unknown_kid: signWith(
      stranger,
      { ...header, kid: randomBytes(32).toString('base64url') },
      payload,
    ),
    foreign_key_known_kid: signWith(stranger, header, payload),
    // The original signature over the original claims: only a verifier that checks the
    // signature against the bytes it parses notices the privilege escalation.
    tampered_payload: `${encodePart(header)}.${encodePart({ ...payload, roles: ['admin'] })}.${signature}`,
    typ_not_string: signWith(stranger, { ...header, typ: 1 }, payload),
  }

  if (opts.sign) {
    const sign = opts.sign
    const nowSeconds = Math.floor((opts.now ?? Date.now)() / 1000)
    const ttl =
      typeof payload.exp === 'number' && typeof payload.iat === 'number'
        ? payload.exp - payload.iat
        : 900
    // Dated against the clock, not the valid token's iat, so the verifier's leeway cannot
    // rescue them whatever the valid token's own age.
    const expiredAt = nowSeconds - HOUR_SECONDS
    const { exp: _exp, ...withoutExp } = payload
    Object.assign(tokens, {
      expired: sign(header, {
        ...payload,
        iat: expiredAt - ttl,
        nbf: expiredAt - ttl,
        exp: expiredAt,
      }),
      wrong_aud: sign(header, { ...payload, aud: `${opts.audience}-other` }),
      wrong_iss: sign(header, { ...payload, iss: `${opts.issuer}.attacker.example` }),
      wrong_typ: sign({ ...header, typ: 'JWT' }, payload),
      missing_exp: sign(header, withoutExp),
      not_yet_valid: sign(header, {
        ...payload,
        iat: nowSeconds + HOUR_SECONDS,
        nbf: nowSeconds + HOUR_SECONDS,
        exp: nowSeconds + HOUR_SECONDS + ttl,
      }),
    })
  }
  return tokens
}

/**
 * A compact ES256 JWS of `header` and `payload`, signed with `privateKey` (P-256).
 *
 * JOSE wants the raw 64-byte `r || s` signature (RFC 7518 §3.4), not the DER that
 * `crypto.sign` produces by default, hence `dsaEncoding: 'ieee-p1363'`. `header` is used as
 * given, so a test can sign a deliberately wrong one with the real key.
 */
export function signWith(privateKey: KeyObject, header: JoseObject, payload: JoseObject): string {
  const signingInput = `${encodePart(header)}.${encodePart(payload)}`
  const signature = cryptoSign('sha256', Buffer.from(signingInput), {
    key: privateKey,
    dsaEncoding: 'ieee-p1363',
  })
  return `${signingInput}.${signature.toString('base64url')}`
}

function signHs256(header: JoseObject, payload: JoseObject, secret: string | Buffer): string {
  const signingInput = `${encodePart(header)}.${encodePart(payload)}`
  const mac = createHmac('sha256', secret).update(signingInput).digest('base64url')
  return `${signingInput}.${mac}`
}

function encodePart(value: JoseObject): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

function decodeCompact(token: string): {
  header: JoseObject
  payload: JoseObject
  signature: string
} {
  const [h, p, signature, ...rest] = token.split('.')
  if (h === undefined || p === undefined || signature === undefined || rest.length > 0) {
    throw new Error('forgeAttackTokens: valid must be a compact JWS (three dot-separated parts)')
  }
  return { header: decodeObject(h), payload: decodeObject(p), signature }
}

function decodeObject(part: string): JoseObject {
  const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error('forgeAttackTokens: header and payload of valid must be JSON objects')
  }
  return value as JoseObject
}

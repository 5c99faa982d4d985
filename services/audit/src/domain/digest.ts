import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type JsonWebKey, type KeyObject } from 'node:crypto'
import { canonicalJson } from './canonical-json.ts'

/** The JWS name of the digest signature algorithm. */
export const DIGEST_ALGORITHM = 'EdDSA'

/** An Ed25519 public key as `GET /audit/.well-known/jwks.json` publishes it. */
export type DigestJwk = { kty: 'OKP'; crv: 'Ed25519'; x: string; kid: string; alg: typeof DIGEST_ALGORITHM; use: 'sig' }

/** The Ed25519 key that signs digests, with its `kid` (RFC 7638 thumbprint of the public JWK). */
export type DigestSigningKey = { kid: string; privateKey: KeyObject; publicKey: KeyObject; publicJwk: DigestJwk }

/**
 * What a digest states, CloudTrail-style: at `interval_end` the chain's head was record `to_seq`
 * with hash `head_hash`; records `from_seq`..`to_seq` were added during the interval (none when
 * `from_seq` > `to_seq`); `previous_signature` chains the digests, so none can be dropped or
 * reordered unnoticed. The signature covers the canonical JSON of exactly these fields.
 */
export type DigestPayload = {
  version: 1
  kid: string
  interval_start: string
  interval_end: string
  from_seq: number
  to_seq: number
  head_hash: string
  previous_signature: string | null
}

/** A signed digest as `GET /audit/digests` returns it. */
export type SignedDigest = DigestPayload & { alg: typeof DIGEST_ALGORITHM; signature: string }

/** Reads a PKCS#8 PEM private key; it must be Ed25519. */
export function digestKeyFromPem(pem: string): DigestSigningKey {
  const privateKey = createPrivateKey(pem)
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error('AUDIT_SIGNING_KEY must be an Ed25519 private key (PKCS#8 PEM)')
  const publicKey = createPublicKey(privateKey)
  const publicJwk = toDigestJwk(publicKey)
  return { kid: publicJwk.kid, privateKey, publicKey, publicJwk }
}

/** A fresh Ed25519 key as PKCS#8 PEM, for development. */
export function generateDigestKeyPem(): string {
  const { privateKey } = generateKeyPairSync('ed25519')
  return privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()
}

/** The public JWK of an Ed25519 key, `kid` = base64url SHA-256 of `{"crv","kty","x"}` (RFC 7638 §3.2, RFC 8037). */
export function toDigestJwk(publicKey: KeyObject): DigestJwk {
  const jwk = publicKey.export({ format: 'jwk' }) as JsonWebKey
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new Error('not an Ed25519 public key')
  const kid = createHash('sha256').update(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x })).digest('base64url')
  return { kty: 'OKP', crv: 'Ed25519', x: jwk.x, kid, alg: DIGEST_ALGORITHM, use: 'sig' }
}

/** The exact bytes a digest signature covers. */
export function digestSigningInput(digest: DigestPayload): Buffer {
  const payload: DigestPayload = {
    version: digest.version,
    kid: digest.kid,
    interval_start: digest.interval_start,
    interval_end: digest.interval_end,
    from_seq: digest.from_seq,
    to_seq: digest.to_seq,
    head_hash: digest.head_hash,
    previous_signature: digest.previous_signature,
  }
  return Buffer.from(canonicalJson(payload), 'utf8')
}

/** Signs a digest payload (Ed25519, base64url signature). */
export function signDigest(key: DigestSigningKey, payload: Omit<DigestPayload, 'kid' | 'version'>): SignedDigest {
  const full: DigestPayload = { version: 1, kid: key.kid, ...payload }
  const signature = sign(null, digestSigningInput(full), key.privateKey).toString('base64url')
  return { ...full, alg: DIGEST_ALGORITHM, signature }
}

/**
 * Whether `digest` carries a valid signature by the key its `kid` names in `jwks`. Only Ed25519
 * keys are considered; an unknown kid or any other algorithm is a failed check, never a pass.
 */
export function verifyDigestSignature(digest: SignedDigest, jwks: { keys: unknown[] }): boolean {
  if (digest.alg !== DIGEST_ALGORITHM || digest.version !== 1 || typeof digest.signature !== 'string') return false
  const jwk = jwks.keys.find((k): k is DigestJwk => typeof k === 'object' && k !== null && (k as DigestJwk).kid === digest.kid)
  if (!jwk || jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519') return false
  let publicKey: KeyObject
  try {
    publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' })
  } catch {
    return false
  }
  // The kid must be the key's own thumbprint: a JWKS entry cannot borrow another key's name.
  if (toDigestJwk(publicKey).kid !== digest.kid) return false
  return verify(null, digestSigningInput(digest), publicKey, Buffer.from(digest.signature, 'base64url'))
}

import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto'

/** The only algorithm access and license tokens are signed with; verification pins it. */
export const SIGNING_ALGORITHM = 'ES256' as const

/** A private signing key with its public half and its `kid` (the RFC 7638 JWK thumbprint). */
export type SigningKey = {
  kid: string
  privateKey: KeyObject
  publicKey: KeyObject
  publicJwk: PublicJwk
}

/** A public key as published in a JWKS. */
export type PublicJwk = JsonWebKey & { kid: string; alg: string; use: 'sig'; kty: string }

/** Generates a fresh P-256 key pair. */
export function generateSigningKey(): SigningKey {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return signingKeyFromPrivate(privateKey)
}

/** Reads a PKCS#8 or SEC1 PEM private key; it must be a P-256 key. */
export function signingKeyFromPem(pem: string): SigningKey {
  return signingKeyFromPrivate(createPrivateKey(pem))
}

/** The PKCS#8 PEM of a signing key, to persist it. */
export function signingKeyToPem(key: SigningKey): string {
  return key.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()
}

function signingKeyFromPrivate(privateKey: KeyObject): SigningKey {
  if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error('signing key must be an EC P-256 private key')
  }
  const publicKey = createPublicKey(privateKey)
  const jwk = publicKey.export({ format: 'jwk' })
  const kid = jwkThumbprint(jwk)
  return { kid, privateKey, publicKey, publicJwk: { ...jwk, kid, alg: SIGNING_ALGORITHM, use: 'sig', kty: 'EC' } }
}

/** RFC 7638 thumbprint of an EC public JWK: stable, so the same key always has the same `kid`. */
export function jwkThumbprint(jwk: JsonWebKey): string {
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })
  return createHash('sha256').update(canonical).digest('base64url')
}

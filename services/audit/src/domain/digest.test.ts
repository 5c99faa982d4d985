import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { describe, it } from 'node:test'
import { digestKeyFromPem, generateDigestKeyPem, signDigest, toDigestJwk, verifyDigestSignature } from './digest.ts'

const payload = {
  interval_start: '2026-01-01T00:00:00.000Z',
  interval_end: '2026-01-01T01:00:00.000Z',
  from_seq: 1,
  to_seq: 10,
  head_hash: 'a'.repeat(64),
  previous_signature: null,
}

describe('digest signatures', () => {
  it('when a digest is signed, it verifies with the published key and its kid is the RFC 7638 thumbprint', () => {
    const key = digestKeyFromPem(generateDigestKeyPem())

    const digest = signDigest(key, payload)

    assert.equal(digest.alg, 'EdDSA')
    assert.equal(digest.kid, key.kid)
    assert.match(key.kid, /^[A-Za-z0-9_-]{43}$/)
    assert.equal(verifyDigestSignature(digest, { keys: [key.publicJwk] }), true)
  })

  it('when any signed field changes, the signature no longer verifies', () => {
    const key = digestKeyFromPem(generateDigestKeyPem())
    const digest = signDigest(key, payload)

    for (const forged of [{ ...digest, to_seq: 11 }, { ...digest, head_hash: 'b'.repeat(64) }, { ...digest, previous_signature: 'x' }, { ...digest, interval_end: '2026-01-01T02:00:00.000Z' }]) {
      assert.equal(verifyDigestSignature(forged, { keys: [key.publicJwk] }), false)
    }
  })

  it('when the kid is unknown, or a foreign key is published under the real kid, it does not verify', () => {
    const key = digestKeyFromPem(generateDigestKeyPem())
    const other = digestKeyFromPem(generateDigestKeyPem())
    const forged = signDigest(other, payload)

    assert.equal(verifyDigestSignature(signDigest(key, payload), { keys: [other.publicJwk] }), false)
    assert.equal(verifyDigestSignature({ ...forged, kid: key.kid }, { keys: [{ ...other.publicJwk, kid: key.kid }] }), false)
  })

  it('when the configured key is not Ed25519, refuses it', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()

    assert.throws(() => digestKeyFromPem(pem), /Ed25519/)
    assert.throws(() => toDigestJwk(privateKey), /Ed25519|OKP|public/)
  })
})

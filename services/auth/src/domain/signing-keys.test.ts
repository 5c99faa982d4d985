import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { generateSigningKey, signingKeyToPem } from '@platform/tokens'
import { decryptPrivateKey, encryptPrivateKey } from './signing-keys.ts'

// Generated at run time: no key material is ever committed.
const PEM = signingKeyToPem(generateSigningKey())

describe('encryptPrivateKey / decryptPrivateKey', () => {
  it('when decrypted with the same key and kid, gives the PEM back; the sealed form shows nothing of it', () => {
    const key = randomBytes(32)
    const sealed = encryptPrivateKey(PEM, key, 'kid-1')
    assert.match(sealed, /^v1\.[\w-]+\.[\w-]+\.[\w-]+$/)
    assert.doesNotMatch(sealed, /PRIVATE|BEGIN/)
    assert.equal(decryptPrivateKey(sealed, key, 'kid-1'), PEM)
    assert.notEqual(encryptPrivateKey(PEM, key, 'kid-1'), sealed, 'a fresh IV each time')
  })

  it('when the key, the kid or a byte differs, refuses to decrypt', () => {
    const key = randomBytes(32)
    const sealed = encryptPrivateKey(PEM, key, 'kid-1')
    assert.throws(() => decryptPrivateKey(sealed, randomBytes(32), 'kid-1'), 'another key')
    assert.throws(() => decryptPrivateKey(sealed, key, 'kid-2'), 'copied onto another row')
    const [v, iv, tag, body] = sealed.split('.')
    const flipped = Buffer.from(body!, 'base64url')
    flipped[0] = flipped[0]! ^ 1
    assert.throws(() => decryptPrivateKey([v, iv, tag, flipped.toString('base64url')].join('.'), key, 'kid-1'), 'tampered')
  })
})

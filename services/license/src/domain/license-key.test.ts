import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { generateLicenseKey, hashLicenseKey, keyLast4, LICENSE_KEY_BITS, normalizeLicenseKey } from './license-key.ts'

describe('license keys', () => {
  it('when generated, a key has at least 128 bits in six groups of five Crockford base32 characters', () => {
    const key = generateLicenseKey()

    assert.match(key, /^[0-9A-HJKMNP-TV-Z]{5}(-[0-9A-HJKMNP-TV-Z]{5}){5}$/)
    assert.ok(LICENSE_KEY_BITS >= 128)
  })

  it('when many are generated, none repeats and every character of the alphabet appears', () => {
    const keys = new Set(Array.from({ length: 2000 }, () => generateLicenseKey()))
    const chars = new Set([...keys].join('').replaceAll('-', ''))

    assert.equal(keys.size, 2000)
    assert.equal(chars.size, 32)
  })

  it('when typed in lower case, with spaces, or with O/I/L look-alikes, it normalizes to the same key', () => {
    const key = generateLicenseKey()
    const normalized = key.replaceAll('-', '')
    const sloppy = ` ${key.toLowerCase().replaceAll('-', ' ')} `.replaceAll('0', 'o').replaceAll('1', 'l')

    assert.equal(normalizeLicenseKey(key), normalized)
    assert.equal(normalizeLicenseKey(sloppy), normalized)
  })

  it('when the input cannot be a key (wrong length, foreign characters), normalizing gives undefined', () => {
    assert.equal(normalizeLicenseKey('ABCDE-12345'), undefined)
    assert.equal(normalizeLicenseKey('UUUUU-UUUUU-UUUUU-UUUUU-UUUUU-UUUUU'), undefined)
    assert.equal(normalizeLicenseKey(''), undefined)
  })

  it('the stored hash depends on the secret, and last4 is the end of the normalized key', () => {
    const normalized = normalizeLicenseKey(generateLicenseKey())!

    assert.notEqual(hashLicenseKey(normalized, 'a'.repeat(32)), hashLicenseKey(normalized, 'b'.repeat(32)))
    assert.match(hashLicenseKey(normalized, 'a'.repeat(32)), /^[0-9a-f]{64}$/)
    assert.equal(keyLast4(normalized), normalized.slice(-4))
  })
})

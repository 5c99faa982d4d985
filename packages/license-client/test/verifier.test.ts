import assert from 'node:assert/strict'
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { describe, it } from 'node:test'
import { signWith } from '@platform/testkit/forge-tokens'
import { createLicenseVerifier, fingerprintHash, memoryClock, type Jwks } from '../src/index.ts'

const PRODUCT = 'editor-pro'
const ISSUER = 'https://platform.example/licenses'
const FINGERPRINT = 'machine-A:disk-1234:mac-00:11:22'
const HOUR_S = 3600
const NOW_S = 1_900_000_000

function newKey(kid: string): { kid: string; privateKey: KeyObject; jwks: Jwks } {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' })
  return { kid, privateKey, jwks: { keys: [{ ...jwk, kid, alg: 'ES256', use: 'sig' }] } }
}

const key = newKey('k1')

function token(overrides: Record<string, unknown> = {}, header: Record<string, unknown> = {}, signer = key): string {
  return signWith(
    signer.privateKey,
    { alg: 'ES256', typ: 'license+jwt', kid: signer.kid, ...header },
    {
      iss: ISSUER,
      sub: '0190a0b0-0000-7000-8000-000000000001',
      aud: PRODUCT,
      fp: fingerprintHash(FINGERPRINT),
      ent: ['export-pdf'],
      iat: NOW_S,
      vb: NOW_S + 24 * HOUR_S,
      exp: NOW_S + 7 * 24 * HOUR_S,
      ...overrides,
    },
  )
}

const verifierAt = (seconds: number, extra: { clock?: ReturnType<typeof memoryClock> } = {}) =>
  createLicenseVerifier({ jwks: key.jwks, product: PRODUCT, issuer: ISSUER, now: () => seconds * 1000, ...extra })

describe('license-client: offline verification', () => {
  it('when the token is fresh, for this product and this machine, the state is valid with its dates', () => {
    const check = verifierAt(NOW_S + 60).check(token(), FINGERPRINT)

    assert.equal(check.ok, true)
    assert.ok(check.ok)
    assert.equal(check.state, 'valid')
    assert.equal(check.licenseId, '0190a0b0-0000-7000-8000-000000000001')
    assert.deepEqual(check.entitlements, ['export-pdf'])
    assert.equal(check.validateBefore.getTime(), (NOW_S + 24 * HOUR_S) * 1000)
    assert.equal(check.graceUntil.getTime(), (NOW_S + 7 * 24 * HOUR_S) * 1000)
  })

  it('when vb has passed but exp has not, the state is must_revalidate', () => {
    const check = verifierAt(NOW_S + 25 * HOUR_S).check(token(), FINGERPRINT)

    assert.ok(check.ok)
    assert.equal(check.state, 'must_revalidate')
  })

  it('when exp has passed, the state is expired', () => {
    const check = verifierAt(NOW_S + 7 * 24 * HOUR_S).check(token(), FINGERPRINT)

    assert.ok(check.ok)
    assert.equal(check.state, 'expired')
  })

  it('when the token is for another product, it is refused as wrong_product', () => {
    assert.deepEqual(verifierAt(NOW_S).check(token({ aud: 'other-product' }), FINGERPRINT), { ok: false, reason: 'wrong_product' })
  })

  it('when the token is bound to another machine, it is refused as wrong_machine', () => {
    assert.deepEqual(verifierAt(NOW_S).check(token(), 'machine-B'), { ok: false, reason: 'wrong_machine' })
  })

  it('when the token comes from another issuer, it is refused as wrong_issuer', () => {
    assert.deepEqual(verifierAt(NOW_S).check(token({ iss: 'https://evil.example' }), FINGERPRINT), { ok: false, reason: 'wrong_issuer' })
  })

  it('when the clock reads earlier than the token was issued, it is refused as clock_set_back', () => {
    assert.deepEqual(verifierAt(NOW_S - 2 * HOUR_S).check(token(), FINGERPRINT), { ok: false, reason: 'clock_set_back' })
  })

  it('when the clock lags the server by less than the tolerance, the token is still valid', () => {
    const check = verifierAt(NOW_S - 60).check(token(), FINGERPRINT)

    assert.ok(check.ok)
    assert.equal(check.state, 'valid')
  })

  it('when the clock is set back below the latest time seen, it is refused as clock_set_back', () => {
    const clock = memoryClock()
    const later = verifierAt(NOW_S + 6 * 24 * HOUR_S, { clock }).check(token(), FINGERPRINT)
    assert.ok(later.ok)

    const setBack = verifierAt(NOW_S + HOUR_S, { clock }).check(token(), FINGERPRINT)

    assert.deepEqual(setBack, { ok: false, reason: 'clock_set_back' })
  })

  it('when the payload was changed after signing, it is refused as bad_signature', () => {
    const [h, , s] = token().split('.')
    const forged = Buffer.from(JSON.stringify({ iss: ISSUER, sub: 'x', aud: PRODUCT, fp: fingerprintHash(FINGERPRINT), ent: ['everything'], iat: NOW_S, vb: NOW_S + 1e9, exp: NOW_S + 1e9 })).toString('base64url')

    assert.deepEqual(verifierAt(NOW_S).check(`${h}.${forged}.${s}`, FINGERPRINT), { ok: false, reason: 'bad_signature' })
  })

  it('when the token is signed by a key that is not pinned, it is refused', () => {
    const stranger = newKey('k1')

    assert.deepEqual(verifierAt(NOW_S).check(token({}, {}, stranger), FINGERPRINT), { ok: false, reason: 'bad_signature' })
    assert.deepEqual(verifierAt(NOW_S).check(token({}, {}, newKey('k2')), FINGERPRINT), { ok: false, reason: 'unknown_key' })
  })

  it('when the header says alg none or HS256, or typ is an access token, it is refused before any key is used', () => {
    const [, p] = token().split('.')
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'license+jwt', kid: 'k1' })).toString('base64url')}.${p}.`

    assert.deepEqual(verifierAt(NOW_S).check(none, FINGERPRINT), { ok: false, reason: 'malformed' })
    assert.deepEqual(verifierAt(NOW_S).check(token({}, { alg: 'HS256' }), FINGERPRINT), { ok: false, reason: 'malformed' })
    assert.deepEqual(verifierAt(NOW_S).check(token({}, { typ: 'at+jwt' }), FINGERPRINT), { ok: false, reason: 'wrong_type' })
  })

  it('when a claim is missing or garbage is presented, it is refused as malformed', () => {
    assert.deepEqual(verifierAt(NOW_S).check(token({ exp: undefined }), FINGERPRINT), { ok: false, reason: 'malformed' })
    assert.deepEqual(verifierAt(NOW_S).check('not-a-token', FINGERPRINT), { ok: false, reason: 'malformed' })
    assert.deepEqual(verifierAt(NOW_S).check('a.b.c', FINGERPRINT), { ok: false, reason: 'malformed' })
  })

  it('fingerprintHash is the base64url SHA-256 of the UTF-8 fingerprint', () => {
    assert.equal(fingerprintHash('abc'), 'ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0')
  })
})

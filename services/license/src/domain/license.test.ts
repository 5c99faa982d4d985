import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { activationRefusal, effectiveStatus, GRACE_SECONDS, isAbuse, relationOf, tokenTimes, VALIDATE_BEFORE_SECONDS, validationCode, type License, type Machine } from './license.ts'

const NOW = new Date('2030-01-01T12:00:00Z')
const HOUR_MS = 3_600_000

function license(overrides: Partial<License> = {}): License {
  return {
    id: 'lic-1',
    keyHash: 'h',
    keyLast4: 'ABCD',
    product: 'editor',
    status: 'active',
    maxMachines: 2,
    expiresAt: null,
    ownerId: 'owner',
    ownerEmail: null,
    issuedBy: 'reseller',
    entitlements: [],
    createdAt: NOW,
    updatedAt: NOW,
    revokedAt: null,
    suspendedAt: null,
    abuseSuspectedAt: null,
    ...overrides,
  }
}

const machine = (fingerprintHash: string, minutesAgo: number): Machine => ({
  id: `m-${fingerprintHash}`,
  licenseId: 'lic-1',
  fingerprintHash,
  machineName: null,
  platform: null,
  createdAt: new Date(NOW.getTime() - minutesAgo * 60_000),
  lastSeenAt: NOW,
})

describe('license rules', () => {
  describe('effectiveStatus', () => {
    it('when the expiry has passed, an active license reads expired; revoked and suspended win over expiry', () => {
      const past = new Date(NOW.getTime() - 1)
      assert.equal(effectiveStatus(license({ expiresAt: past }), NOW), 'expired')
      assert.equal(effectiveStatus(license({ expiresAt: new Date(NOW.getTime() + 1) }), NOW), 'active')
      assert.equal(effectiveStatus(license({ expiresAt: past, status: 'revoked' }), NOW), 'revoked')
      assert.equal(effectiveStatus(license({ expiresAt: past, status: 'suspended' }), NOW), 'suspended')
    })
  })

  describe('validationCode', () => {
    const a = machine('A', 30)
    const b = machine('B', 20)
    const c = machine('C', 10)

    it('when the machine is among the activated ones, answers VALID', () => {
      assert.equal(validationCode(license(), [a, b], 'B', NOW), 'VALID')
    })

    it('when nothing is activated, answers NOT_ACTIVATED; when others are, FINGERPRINT_MISMATCH', () => {
      assert.equal(validationCode(license(), [], 'A', NOW), 'NOT_ACTIVATED')
      assert.equal(validationCode(license(), [a], 'Z', NOW), 'FINGERPRINT_MISMATCH')
    })

    it('when max_machines was lowered below the activations, the newest machines get MACHINE_LIMIT and the oldest stay VALID', () => {
      const lowered = license({ maxMachines: 2 })
      assert.equal(validationCode(lowered, [a, b, c], 'A', NOW), 'VALID')
      assert.equal(validationCode(lowered, [a, b, c], 'B', NOW), 'VALID')
      assert.equal(validationCode(lowered, [a, b, c], 'C', NOW), 'MACHINE_LIMIT')
    })

    it('when the license is revoked, suspended or expired, that code wins over any machine check', () => {
      assert.equal(validationCode(license({ status: 'revoked' }), [a], 'A', NOW), 'REVOKED')
      assert.equal(validationCode(license({ status: 'suspended' }), [a], 'A', NOW), 'SUSPENDED')
      assert.equal(validationCode(license({ expiresAt: NOW }), [], 'A', NOW), 'EXPIRED')
    })
  })

  describe('activationRefusal', () => {
    it('maps revoked, suspended, expired and an abuse suspicion to their error codes, and a good license to none', () => {
      assert.equal(activationRefusal(license({ status: 'revoked' }), NOW), 'license_revoked')
      assert.equal(activationRefusal(license({ status: 'suspended' }), NOW), 'license_suspended')
      assert.equal(activationRefusal(license({ expiresAt: NOW }), NOW), 'license_expired')
      assert.equal(activationRefusal(license({ abuseSuspectedAt: NOW }), NOW), 'license_suspended')
      assert.equal(activationRefusal(license(), NOW), undefined)
    })
  })

  describe('tokenTimes', () => {
    const timing = { validateBeforeSeconds: VALIDATE_BEFORE_SECONDS, graceSeconds: GRACE_SECONDS }

    it('when the license has no expiry, vb is 24 h and exp 7 days after the validation', () => {
      const { iat, vb, exp } = tokenTimes(NOW, null, timing)
      assert.equal(iat, NOW.getTime() / 1000)
      assert.equal(vb - iat, 24 * 3600)
      assert.equal(exp - iat, 7 * 24 * 3600)
    })

    it('when the license expires within the grace, exp is the license expiry', () => {
      const expiresAt = new Date(NOW.getTime() + 2 * HOUR_MS)
      assert.equal(tokenTimes(NOW, expiresAt, timing).exp, expiresAt.getTime() / 1000)
    })
  })

  describe('relationOf', () => {
    it('ranks admin over issuer over owner, and a stranger is none', () => {
      const l = license({ ownerId: 'u1', issuedBy: 'r1' })
      assert.equal(relationOf(l, { userId: 'x', roles: ['admin'], emailVerified: false }), 'admin')
      assert.equal(relationOf(l, { userId: 'r1', roles: ['reseller'], emailVerified: false }), 'issuer')
      assert.equal(relationOf(l, { userId: 'u1', roles: ['user'], emailVerified: false }), 'owner')
      assert.equal(relationOf(l, { userId: 'u2', roles: ['reseller'], emailVerified: false }), 'none')
      assert.equal(relationOf(license({ ownerId: null, issuedBy: null }), { userId: 'u2', roles: ['user'], emailVerified: false }), 'none')
    })
  })

  describe('isAbuse', () => {
    it('is true only for strictly more distinct fingerprints than allowed', () => {
      assert.equal(isAbuse(10, 10), false)
      assert.equal(isAbuse(11, 10), true)
    })
  })
})

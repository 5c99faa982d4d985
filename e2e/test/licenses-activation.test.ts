import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { EventEnvelope } from '@platform/bus'
import { fingerprintHash, LicenseRefusedError, type LicenseClient } from '@platform/license-client'
import { setSuspended } from '@platform/license'
import { waitUntil } from '@platform/testkit'
import { assertProblem, RELAXED_RATE_LIMITS } from '../src/http-fixtures.ts'
import { issueLicense, licenseClientFor, licenseDb, newFingerprint, userWithRoles, type TestUser } from '../src/license-fixtures.ts'
import { startStack, type Stack } from '../src/stack.ts'

const PRODUCT = 'editor-pro'
const DAY_S = 86_400

const activate = (stack: Stack, key: string, fingerprint: string, extra: Record<string, unknown> = {}) =>
  stack.client.request('POST', '/licenses/activate', { json: { key, fingerprint, ...extra } })
const validate = (stack: Stack, json: Record<string, unknown>) => stack.client.request('POST', '/licenses/validate', { json })
const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'))

describe('licenses: activation, validation, license tokens', () => {
  let stack: Stack
  let admin: TestUser
  let reseller: TestUser
  let owner: TestUser
  let licensing: LicenseClient
  let closeClient: () => Promise<void>
  const events: EventEnvelope[] = []

  before(async () => {
    stack = await startStack({ RATE_LIMITS: RELAXED_RATE_LIMITS })
    await stack.platform.bus.subscribe('e2e.license-activation-events', ['license.#'], async (event) => {
      events.push(event)
    })
    ;[admin, reseller, owner] = await Promise.all([userWithRoles(stack, ['admin']), userWithRoles(stack, ['reseller']), userWithRoles(stack, ['user'])])
    ;({ client: licensing, close: closeClient } = await licenseClientFor(stack, PRODUCT))
  })
  after(async () => {
    await closeClient()
    await stack.stop()
  })

  const newLicense = (body: Record<string, unknown> = {}) => issueLicense(stack.client, reseller.accessToken, { product: PRODUCT, owner_id: owner.id, ...body })

  describe('POST /licenses/activate', () => {
    it('when a machine activates, answers 201 with a token the client verifies offline, bound to the machine, 24 h / 7 days', async () => {
      const license = await newLicense({ entitlements: ['export-pdf'] })
      const fingerprint = newFingerprint()

      const activation = await licensing.activate({ key: license.key, fingerprint, machineName: 'Ada laptop', platform: 'macos' })

      assert.equal(activation.created, true)
      assert.equal(activation.licenseId, license.id)
      assert.ok(activation.check.ok, JSON.stringify(activation.check))
      assert.equal(activation.check.state, 'valid')
      assert.deepEqual(activation.check.entitlements, ['export-pdf'])
      const claims = claimsOf(activation.licenseToken)
      assert.deepEqual(Object.keys(claims).sort(), ['aud', 'ent', 'exp', 'fp', 'iat', 'iss', 'sub', 'vb'])
      assert.equal(claims.sub, license.id)
      assert.equal(claims.aud, PRODUCT)
      assert.equal(claims.fp, fingerprintHash(fingerprint))
      assert.doesNotMatch(activation.licenseToken, new RegExp(fingerprint))
      assert.equal(claims.vb - claims.iat, DAY_S)
      assert.equal(claims.exp - claims.iat, 7 * DAY_S)
      assert.equal(activation.validateBefore.getTime(), claims.vb * 1000)
      assert.equal(activation.graceUntil.getTime(), claims.exp * 1000)
      const header = JSON.parse(Buffer.from(activation.licenseToken.split('.')[0]!, 'base64url').toString('utf8'))
      assert.deepEqual(header, { alg: 'ES256', typ: 'license+jwt', kid: header.kid })
      await waitUntil(() => events.some((e) => e.type === 'license.license.activated' && e.data.activation_id === activation.activationId), { what: 'license.license.activated' })
    })

    it('when the same fingerprint activates again, answers 200 with the same activation and a fresh token, using no extra slot', async () => {
      const license = await newLicense({ max_machines: 1 })
      const fingerprint = newFingerprint()
      const first = await activate(stack, license.key, fingerprint)

      const again = await activate(stack, license.key, fingerprint)

      assert.equal(first.status, 201)
      assert.equal(again.status, 200, again.text)
      assert.equal(again.body.activation_id, first.body.activation_id)
      assert.ok(again.body.license_token)
      const read = await stack.client.request('GET', `/licenses/${license.id}`, { token: owner.accessToken })
      assert.equal(read.body.activations_count, 1)
    })

    it('when 10 machines activate at once on max_machines 3, exactly 3 succeed and 7 get 409 machine_limit_reached', async () => {
      const license = await newLicense({ max_machines: 3 })

      const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => activate(stack, license.key, newFingerprint(`racer-${i}`))))

      assert.equal(answers.filter((a) => a.status === 201).length, 3, answers.map((a) => a.status).join())
      for (const refused of answers.filter((a) => a.status !== 201)) assertProblem(refused, 409, 'machine_limit_reached')
      const read = await stack.client.request('GET', `/licenses/${license.id}`, { token: owner.accessToken })
      assert.equal(read.body.machines.length, 3)
    })

    it('when a machine is deactivated, its slot is free for another machine, and its token no longer validates', async () => {
      const license = await newLicense({ max_machines: 1 })
      const first = await activate(stack, license.key, newFingerprint('old'))
      const second = newFingerprint('new')
      assertProblem(await activate(stack, license.key, second), 409, 'machine_limit_reached')

      const removed = await stack.client.request('DELETE', `/licenses/${license.id}/machines/${first.body.activation_id}`, { token: owner.accessToken })

      assert.equal(removed.status, 204, removed.text)
      assert.equal((await activate(stack, license.key, second)).status, 201)
      const read = await stack.client.request('GET', `/licenses/${license.id}`, { token: owner.accessToken })
      assert.deepEqual(read.body.machines.map((m: { activation_id: string }) => m.activation_id).includes(first.body.activation_id), false)
      const oldToken = await validate(stack, { license_token: first.body.license_token })
      assert.equal(oldToken.body.code, 'FINGERPRINT_MISMATCH')
      const again = await stack.client.request('DELETE', `/licenses/${license.id}/machines/${first.body.activation_id}`, { token: owner.accessToken })
      assertProblem(again, 404, 'activation_not_found')
    })

    it('when the key is unknown or malformed, answers 404 license_not_found', async () => {
      assertProblem(await activate(stack, 'AAAAA-BBBBB-CCCCC-DDDDD-EEEEE-FFFFF', newFingerprint()), 404, 'license_not_found')
      assertProblem(await activate(stack, 'nonsense', newFingerprint()), 404, 'license_not_found')
    })

    it('when the body has an unknown field, answers 400 validation_failed', async () => {
      const res = await activate(stack, 'AAAAA-BBBBB-CCCCC-DDDDD-EEEEE-FFFFF', newFingerprint(), { owner_id: owner.id })

      assertProblem(res, 400, 'validation_failed')
    })
  })

  describe('POST /licenses/validate', () => {
    it('when the machine is activated, answers VALID with a refreshed token and records a heartbeat', async () => {
      const license = await newLicense()
      const fingerprint = newFingerprint()
      const activation = await licensing.activate({ key: license.key, fingerprint })
      // Heartbeats are written at most once a minute per machine: make the last one an hour old.
      await licenseDb(stack).updateTable('machines').set({ last_seen_at: new Date(Date.now() - 3_600_000) }).where('id', '=', activation.activationId).execute()
      const startedAt = Date.now()

      const byToken = await licensing.validateToken(activation.licenseToken, fingerprint)
      const byKey = await licensing.validateKey(license.key, fingerprint)

      for (const result of [byToken, byKey]) {
        assert.equal(result.valid, true)
        assert.equal(result.code, 'VALID')
        assert.equal(result.licenseId, license.id)
        assert.ok(result.check?.ok)
      }
      const read = await stack.client.request('GET', `/licenses/${license.id}`, { token: owner.accessToken })
      assert.ok(new Date(read.body.machines[0].last_seen_at).getTime() >= startedAt, 'last_seen_at moved on')
      assert.notEqual(byToken.licenseToken, activation.licenseToken)
    })

    it('when no machine is activated, answers NOT_ACTIVATED; when only others are, FINGERPRINT_MISMATCH', async () => {
      const license = await newLicense()
      const none = await validate(stack, { key: license.key, fingerprint: newFingerprint() })
      await activate(stack, license.key, newFingerprint('A'))

      const other = await validate(stack, { key: license.key, fingerprint: newFingerprint('B') })

      assert.deepEqual(none.body, { valid: false, code: 'NOT_ACTIVATED', license_id: license.id, expires_at: null })
      assert.deepEqual(other.body, { valid: false, code: 'FINGERPRINT_MISMATCH', license_id: license.id, expires_at: null })
      await waitUntil(() => events.some((e) => e.type === 'license.validation.failed' && e.data.code === 'FINGERPRINT_MISMATCH' && e.subject?.id === license.id), { what: 'license.validation.failed' })
    })

    it('when a token for machine A is used on machine B, the client refuses it and validate with B answers FINGERPRINT_MISMATCH', async () => {
      const license = await newLicense()
      const machineA = newFingerprint('A')
      const machineB = newFingerprint('B')
      const { licenseToken } = await licensing.activate({ key: license.key, fingerprint: machineA })

      const offline = licensing.check(licenseToken, machineB)
      await assert.rejects(licensing.validateToken(licenseToken, machineB), (error: unknown) => error instanceof LicenseRefusedError && error.reason === 'wrong_machine')
      const online = await licensing.validateKey(license.key, machineB)

      assert.deepEqual(offline, { ok: false, reason: 'wrong_machine' })
      assert.equal(online.code, 'FINGERPRINT_MISMATCH')
      assert.equal(online.valid, false)
    })

    it('when the license token was tampered with, the client refuses it and validate answers 401 invalid_token', async () => {
      const license = await newLicense()
      const fingerprint = newFingerprint()
      const { licenseToken } = await licensing.activate({ key: license.key, fingerprint })
      const [h, p, s] = licenseToken.split('.')
      const claims = JSON.parse(Buffer.from(p!, 'base64url').toString('utf8'))
      const tampered = `${h}.${Buffer.from(JSON.stringify({ ...claims, ent: ['everything'], exp: claims.exp + 365 * DAY_S })).toString('base64url')}.${s}`

      const res = await validate(stack, { license_token: tampered })

      assert.deepEqual(licensing.check(tampered, fingerprint), { ok: false, reason: 'bad_signature' })
      assertProblem(res, 401, 'invalid_token')
      assertProblem(await validate(stack, { license_token: 'a.b.c' }), 401, 'invalid_token')
    })

    it('when the key is unknown, answers 404 license_not_found', async () => {
      assertProblem(await validate(stack, { key: 'ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ', fingerprint: 'x' }), 404, 'license_not_found')
    })

    it('when the body mixes both forms, answers 400 validation_failed', async () => {
      assertProblem(await validate(stack, { key: 'k', fingerprint: 'f', license_token: 't' }), 400, 'validation_failed')
    })

    it('when max_machines was lowered below the activations, the newest machine answers MACHINE_LIMIT and the oldest stay VALID', async () => {
      const license = await newLicense({ max_machines: 3 })
      const fingerprints = [newFingerprint('1'), newFingerprint('2'), newFingerprint('3')]
      for (const fp of fingerprints) assert.equal((await activate(stack, license.key, fp)).status, 201)
      await licenseDb(stack).updateTable('licenses').set({ max_machines: 2 }).where('id', '=', license.id).execute()

      const codes = []
      for (const fp of fingerprints) codes.push((await validate(stack, { key: license.key, fingerprint: fp })).body.code)

      assert.deepEqual(codes, ['VALID', 'VALID', 'MACHINE_LIMIT'])
    })
  })

  describe('revocation, expiry, suspension', () => {
    it('when a license is revoked, validate answers REVOKED at once and activation 403 license_revoked', async () => {
      const license = await newLicense()
      const fingerprint = newFingerprint()
      const { licenseToken } = await licensing.activate({ key: license.key, fingerprint })

      const revoked = await stack.client.request('POST', `/licenses/${license.id}/revoke`, { token: admin.accessToken })
      const byToken = await licensing.validateToken(licenseToken, fingerprint)
      const byKey = await validate(stack, { key: license.key, fingerprint })
      const again = await activate(stack, license.key, newFingerprint())

      assert.equal(revoked.status, 200, revoked.text)
      assert.equal(revoked.body.status, 'revoked')
      assert.equal(byToken.code, 'REVOKED')
      assert.equal(byToken.valid, false)
      assert.equal(byToken.licenseToken, undefined)
      assert.equal(byKey.body.code, 'REVOKED')
      assertProblem(again, 403, 'license_revoked')
      await waitUntil(() => events.some((e) => e.type === 'license.license.revoked' && e.subject?.id === license.id), { what: 'license.license.revoked' })
    })

    it('when the license expires within the grace, the token ends with it; once expired, validate says EXPIRED and activation 403 license_expired', async () => {
      const expiresAt = new Date(Date.now() + 3_600_000)
      expiresAt.setMilliseconds(0)
      const license = await newLicense({ expires_at: expiresAt.toISOString() })
      const fingerprint = newFingerprint()
      const activation = await licensing.activate({ key: license.key, fingerprint })
      assert.equal(activation.graceUntil.getTime(), expiresAt.getTime())

      await licenseDb(stack).updateTable('licenses').set({ expires_at: new Date(Date.now() - 1000) }).where('id', '=', license.id).execute()

      const res = await validate(stack, { key: license.key, fingerprint })
      assert.equal(res.body.code, 'EXPIRED')
      assert.equal(res.body.valid, false)
      assertProblem(await activate(stack, license.key, newFingerprint()), 403, 'license_expired')
      const read = await stack.client.request('GET', `/licenses/${license.id}`, { token: owner.accessToken })
      assert.equal(read.body.status, 'expired')
    })

    it('when billing suspends a license, validate says SUSPENDED and activation 403 license_suspended; resumed, it is VALID again', async () => {
      const license = await newLicense()
      const fingerprint = newFingerprint()
      await activate(stack, license.key, fingerprint)

      await setSuspended(stack.platform.license.deps, license.id, true, 'payments.subscription.past_due')
      const suspended = await validate(stack, { key: license.key, fingerprint })
      const refused = await activate(stack, license.key, newFingerprint())
      await setSuspended(stack.platform.license.deps, license.id, false, 'payments.subscription.activated')
      const resumed = await validate(stack, { key: license.key, fingerprint })

      assert.equal(suspended.body.code, 'SUSPENDED')
      assertProblem(refused, 403, 'license_suspended')
      assert.equal(resumed.body.code, 'VALID')
      await waitUntil(() => events.some((e) => e.type === 'license.license.suspended' && e.subject?.id === license.id), { what: 'license.license.suspended' })
    })
  })

  describe('abuse detection', () => {
    it('when more than 10 distinct fingerprints are tried within the window, the key is suspended until an admin clears it', async () => {
      const license = await newLicense({ max_machines: 2 })
      const fingerprints = Array.from({ length: 11 }, (_, i) => newFingerprint(`sharer-${i}`))
      const statuses = []
      for (const fp of fingerprints.slice(0, 10)) statuses.push((await activate(stack, license.key, fp)).status)
      assert.deepEqual(statuses, [201, 201, 409, 409, 409, 409, 409, 409, 409, 409])

      const eleventh = await activate(stack, license.key, fingerprints[10]!)
      const known = await activate(stack, license.key, fingerprints[0]!)
      const stillValid = await validate(stack, { key: license.key, fingerprint: fingerprints[0] })

      assertProblem(eleventh, 403, 'license_suspended')
      assertProblem(known, 403, 'license_suspended')
      assert.equal(stillValid.body.code, 'VALID', 'machines already activated keep validating')
      await waitUntil(() => events.some((e) => e.type === 'license.abuse_suspected' && e.subject?.id === license.id), { what: 'license.abuse_suspected' })
      const read = await stack.client.request('GET', `/licenses/${license.id}`, { token: reseller.accessToken })
      assert.ok(read.body.abuse_suspected_at)
      const byIssuer = await stack.client.request('POST', `/licenses/${license.id}/clear-abuse`, { token: reseller.accessToken })
      assertProblem(byIssuer, 403, 'forbidden')

      const cleared = await stack.client.request('POST', `/licenses/${license.id}/clear-abuse`, { token: admin.accessToken })

      assert.equal(cleared.status, 200, cleared.text)
      assert.equal(cleared.body.abuse_suspected_at, null)
      const slot = await stack.client.request('GET', `/licenses/${license.id}`, { token: owner.accessToken })
      await stack.client.request('DELETE', `/licenses/${license.id}/machines/${slot.body.machines[0].activation_id}`, { token: owner.accessToken })
      assert.equal((await activate(stack, license.key, newFingerprint('after-clear'))).status, 201)
    })
  })
})

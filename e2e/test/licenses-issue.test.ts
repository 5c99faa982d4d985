import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { EventEnvelope } from '@platform/bus'
import { waitUntil } from '@platform/testkit'
import { signWith } from '@platform/testkit/forge-tokens'
import { assertProblem, RELAXED_RATE_LIMITS } from '../src/http-fixtures.ts'
import { issueLicense, login, newFingerprint, userWithRoles, type TestUser } from '../src/license-fixtures.ts'
import { registerAndLogin, startStack, uniqueEmail, type Stack } from '../src/stack.ts'

const KEY_FORMAT = /^[0-9A-HJKMNP-TV-Z]{5}(-[0-9A-HJKMNP-TV-Z]{5}){5}$/

describe('licenses: issuing, quotas, ownership', () => {
  let stack: Stack
  let admin: TestUser
  let reseller: TestUser
  let user: TestUser
  const events: EventEnvelope[] = []

  before(async () => {
    stack = await startStack({ RATE_LIMITS: RELAXED_RATE_LIMITS })
    await stack.platform.bus.subscribe('e2e.license-issue-events', ['license.#'], async (event) => {
      events.push(event)
    })
    ;[admin, reseller, user] = await Promise.all([userWithRoles(stack, ['admin']), userWithRoles(stack, ['reseller']), userWithRoles(stack, ['user'])])
  })
  after(() => stack.stop())

  describe('POST /licenses', () => {
    it('when a reseller issues a license, answers 201 with the key once, and later reads show only its last 4', async () => {
      const res = await stack.client.request('POST', '/licenses', {
        token: reseller.accessToken,
        json: { product: 'editor-pro', max_machines: 2, owner_id: user.id, entitlements: ['export-pdf'] },
      })

      assert.equal(res.status, 201, res.text)
      assert.deepEqual(Object.keys(res.body).sort(), ['created_at', 'entitlements', 'expires_at', 'id', 'issued_by', 'key', 'max_machines', 'owner_email', 'owner_id', 'product', 'status'])
      assert.match(res.body.key, KEY_FORMAT)
      assert.equal(res.body.status, 'active')
      assert.equal(res.body.issued_by, reseller.id)
      assert.equal(res.body.owner_id, user.id)
      assert.equal(res.body.expires_at, null)
      assert.deepEqual(res.body.entitlements, ['export-pdf'])
      const read = await stack.client.request('GET', `/licenses/${res.body.id}`, { token: user.accessToken })
      assert.equal(read.status, 200, read.text)
      assert.equal(read.body.key_last4, res.body.key.replaceAll('-', '').slice(-4))
      assert.equal(read.body.key, undefined)
      assert.doesNotMatch(read.text, new RegExp(res.body.key.replaceAll('-', '.?')))
    })

    it('when a plain user tries to issue, answers 403 forbidden', async () => {
      const res = await stack.client.request('POST', '/licenses', { token: user.accessToken, json: { product: 'editor-pro', max_machines: 1 } })

      assertProblem(res, 403, 'forbidden')
    })

    it('when there is no token, the gateway answers 401', async () => {
      const res = await stack.client.request('POST', '/licenses', { json: { product: 'editor-pro', max_machines: 1 } })

      assertProblem(res, 401, 'unauthorized')
    })

    it('when the body has an unknown field, a bad max_machines, a past expiry or both owner fields, answers 400 validation_failed naming the field', async () => {
      const cases: [Record<string, unknown>, string][] = [
        [{ product: 'p', max_machines: 1, colour: 'red' }, '/colour'],
        [{ product: 'p', max_machines: 0 }, '/max_machines'],
        [{ product: 'p', max_machines: 1001 }, '/max_machines'],
        [{ product: 'p', max_machines: 1, expires_at: new Date(Date.now() - 60_000).toISOString() }, '/expires_at'],
        [{ product: 'p', max_machines: 1, owner_id: user.id, owner_email: 'a@example.com' }, '/owner_id'],
      ]
      for (const [json, path] of cases) {
        const res = await stack.client.request('POST', '/licenses', { token: reseller.accessToken, json })
        assertProblem(res, 400, 'validation_failed', JSON.stringify(json))
        assert.ok(res.body.errors.some((e: { path: string }) => e.path === path), `${path} in ${res.text}`)
      }
    })

    it('when a license is issued, license.license.issued is published without the key', async () => {
      const issued = await issueLicense(stack.client, reseller.accessToken, { owner_email: 'Buyer@Example.com' })

      await waitUntil(() => events.some((e) => e.type === 'license.license.issued' && e.subject?.id === issued.id), { what: 'license.license.issued' })
      const event = events.find((e) => e.type === 'license.license.issued' && e.subject?.id === issued.id)!
      assert.equal(event.source, 'license')
      assert.equal(event.actor_id, reseller.id)
      assert.equal(event.data.owner_email, 'buyer@example.com')
      assert.equal(event.data.key_last4, issued.key.replaceAll('-', '').slice(-4))
      assert.doesNotMatch(JSON.stringify(event), new RegExp(issued.key.replaceAll('-', '.?')))
    })
  })

  describe('reseller quota', () => {
    it('when a reseller has used its quota, the next issue answers 403 quota_exceeded; only an admin may set quotas', async () => {
      const small = await userWithRoles(stack, ['reseller'])
      const set = await stack.client.request('PUT', `/licenses/resellers/${small.id}/quota`, { token: admin.accessToken, json: { quota: 2 } })
      assert.equal(set.status, 200, set.text)
      assert.deepEqual(set.body, { user_id: small.id, quota: 2, issued: 0 })

      await issueLicense(stack.client, small.accessToken)
      await issueLicense(stack.client, small.accessToken)
      const third = await stack.client.request('POST', '/licenses', { token: small.accessToken, json: { product: 'editor-pro', max_machines: 1 } })

      assertProblem(third, 403, 'quota_exceeded')
      const byReseller = await stack.client.request('PUT', `/licenses/resellers/${small.id}/quota`, { token: small.accessToken, json: { quota: 1000 } })
      assertProblem(byReseller, 403, 'forbidden')
      const raised = await stack.client.request('PUT', `/licenses/resellers/${small.id}/quota`, { token: admin.accessToken, json: { quota: 3 } })
      assert.deepEqual(raised.body, { user_id: small.id, quota: 3, issued: 2 })
      await issueLicense(stack.client, small.accessToken)
    })

    it('when a reseller issues concurrently at the edge of its quota, exactly the quota is issued', async () => {
      const racer = await userWithRoles(stack, ['reseller'])
      await stack.client.request('PUT', `/licenses/resellers/${racer.id}/quota`, { token: admin.accessToken, json: { quota: 3 } })

      const answers = await Promise.all(
        Array.from({ length: 8 }, () => stack.client.request('POST', '/licenses', { token: racer.accessToken, json: { product: 'race', max_machines: 1 } })),
      )

      assert.deepEqual(answers.map((a) => a.status).sort(), [201, 201, 201, 403, 403, 403, 403, 403])
    })

    it('when an admin issues, no quota applies', async () => {
      const issued = await issueLicense(stack.client, admin.accessToken, { max_machines: 1000 })

      assert.equal(issued.issued_by, admin.id)
    })
  })

  describe('ownership (IDOR)', () => {
    it("when another user reads, lists, deactivates, reissues or revokes someone's license, every answer is 404 license_not_found", async () => {
      const issued = await issueLicense(stack.client, reseller.accessToken, { owner_id: user.id })
      const activation = await stack.client.request('POST', '/licenses/activate', { json: { key: issued.key, fingerprint: newFingerprint() } })
      const stranger = await userWithRoles(stack, ['user'])
      const otherReseller = await userWithRoles(stack, ['reseller'])

      for (const intruder of [stranger, otherReseller]) {
        const read = await stack.client.request('GET', `/licenses/${issued.id}`, { token: intruder.accessToken })
        const deactivate = await stack.client.request('DELETE', `/licenses/${issued.id}/machines/${activation.body.activation_id}`, { token: intruder.accessToken })
        const reissue = await stack.client.request('POST', `/licenses/${issued.id}/reissue-key`, { token: intruder.accessToken })
        const revoke = await stack.client.request('POST', `/licenses/${issued.id}/revoke`, { token: intruder.accessToken })
        const list = await stack.client.request('GET', `/licenses?owner_id=${user.id}`, { token: intruder.accessToken })

        assertProblem(read, 404, 'license_not_found')
        assertProblem(deactivate, 404, 'license_not_found')
        assertProblem(reissue, 404, 'license_not_found')
        assertProblem(revoke, 404, 'license_not_found')
        assert.equal(list.status, 200)
        assert.deepEqual(list.body.items, [])
      }
      const stillThere = await stack.client.request('GET', `/licenses/${issued.id}`, { token: user.accessToken })
      assert.equal(stillThere.body.status, 'active')
      assert.equal(stillThere.body.machines.length, 1)
    })

    it('when an id is not a UUID or does not exist, answers 404 license_not_found', async () => {
      const bad = await stack.client.request('GET', '/licenses/not-a-uuid', { token: user.accessToken })
      const missing = await stack.client.request('GET', '/licenses/0190a0b0-0000-7000-8000-000000000001', { token: admin.accessToken })

      assertProblem(bad, 404, 'license_not_found')
      assertProblem(missing, 404, 'license_not_found')
    })

    it('when the owner (neither issuer nor admin) revokes, answers 403 forbidden; the issuer may', async () => {
      const issued = await issueLicense(stack.client, reseller.accessToken, { owner_id: user.id })

      const byOwner = await stack.client.request('POST', `/licenses/${issued.id}/revoke`, { token: user.accessToken })
      const byIssuer = await stack.client.request('POST', `/licenses/${issued.id}/revoke`, { token: reseller.accessToken })

      assertProblem(byOwner, 403, 'forbidden')
      assert.equal(byIssuer.status, 200, byIssuer.text)
      assert.equal(byIssuer.body.status, 'revoked')
    })
  })

  describe('GET /licenses', () => {
    it('when a reseller lists, it sees the licenses it issued with key_last4 and activations_count, newest first, page by page', async () => {
      const lister = await userWithRoles(stack, ['reseller'])
      const ids: string[] = []
      for (let i = 0; i < 5; i++) ids.push((await issueLicense(stack.client, lister.accessToken, { product: `paged-${i}` })).id)

      const pages: string[][] = []
      let cursor: string | null = null
      do {
        const path: string = `/licenses?limit=2${cursor ? `&cursor=${cursor}` : ''}`
        const res = await stack.client.request('GET', path, { token: lister.accessToken })
        assert.equal(res.status, 200, res.text)
        pages.push(res.body.items.map((l: { id: string }) => l.id))
        for (const item of res.body.items) {
          assert.match(item.key_last4, /^[0-9A-Z]{4}$/)
          assert.equal(item.activations_count, 0)
        }
        cursor = res.body.next_cursor
      } while (cursor)

      assert.deepEqual(pages, [[ids[4], ids[3]], [ids[2], ids[1]], [ids[0]]])
    })

    it('when filters are given, they narrow the list; admins see everyone, owners their own', async () => {
      const issued = await issueLicense(stack.client, reseller.accessToken, { product: 'filter-me', owner_id: user.id })

      const byAdmin = await stack.client.request('GET', `/licenses?product=filter-me&issued_by=${reseller.id}&status=active`, { token: admin.accessToken })
      const byOwner = await stack.client.request('GET', '/licenses?product=filter-me', { token: user.accessToken })
      const revokedOnly = await stack.client.request('GET', '/licenses?product=filter-me&status=revoked', { token: admin.accessToken })

      assert.deepEqual(byAdmin.body.items.map((l: { id: string }) => l.id), [issued.id])
      assert.deepEqual(byOwner.body.items.map((l: { id: string }) => l.id), [issued.id])
      assert.deepEqual(revokedOnly.body.items, [])
    })

    it('when limit is over 500, the cursor is forged or a filter is unknown, answers 400 validation_failed', async () => {
      for (const path of ['/licenses?limit=501', '/licenses?cursor=bm90LWEtY3Vyc29y', '/licenses?colour=red', '/licenses?status=lost']) {
        assertProblem(await stack.client.request('GET', path, { token: user.accessToken }), 400, 'validation_failed', path)
      }
    })
  })

  describe('owner_email', () => {
    it('when a license is issued to an e-mail, the user with that e-mail claims it once the address is verified', async () => {
      const email = uniqueEmail('buyer')
      const issued = await issueLicense(stack.client, reseller.accessToken, { owner_email: email.toUpperCase() })
      assert.equal(issued.owner_email, email)
      const buyer = await registerAndLogin(stack.client, email)

      const unverified = await stack.client.request('GET', `/licenses/${issued.id}`, { token: buyer.accessToken })
      assertProblem(unverified, 404, 'license_not_found')

      await stack.platform.auth.deps.db.updateTable('users').set({ email_verified: true }).where('id', '=', buyer.id).execute()
      const token = await login(stack.client, email)
      const list = await stack.client.request('GET', '/licenses', { token })
      assert.deepEqual(list.body.items.map((l: { id: string }) => l.id), [issued.id])
      assert.equal(list.body.items[0].owner_id, buyer.id)
      const read = await stack.client.request('GET', `/licenses/${issued.id}`, { token })
      assert.equal(read.status, 200, read.text)
      await waitUntil(() => events.some((e) => e.type === 'license.license.claimed' && e.subject?.id === issued.id), { what: 'license.license.claimed' })
    })
  })

  describe('POST /licenses/{id}/reissue-key', () => {
    it('when the owner reissues the key, the old key stops working and the new one activates', async () => {
      const issued = await issueLicense(stack.client, reseller.accessToken, { owner_id: user.id })

      const res = await stack.client.request('POST', `/licenses/${issued.id}/reissue-key`, { token: user.accessToken })

      assert.equal(res.status, 200, res.text)
      assert.deepEqual(Object.keys(res.body), ['key'])
      assert.match(res.body.key, KEY_FORMAT)
      const old = await stack.client.request('POST', '/licenses/activate', { json: { key: issued.key, fingerprint: newFingerprint() } })
      assertProblem(old, 404, 'license_not_found')
      const fresh = await stack.client.request('POST', '/licenses/activate', { json: { key: res.body.key, fingerprint: newFingerprint() } })
      assert.equal(fresh.status, 201, fresh.text)
    })
  })

  describe('access tokens', () => {
    it('when the access token has expired, answers 401 token_expired, at the gateway and at the service itself', async () => {
      const key = stack.platform.auth.deps.keys.active()
      const now = Math.floor(Date.now() / 1000)
      const [, payload] = reseller.accessToken.split('.')
      const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8'))
      const expired = signWith(key.privateKey, { alg: 'ES256', typ: 'at+jwt', kid: key.kid }, { ...claims, iat: now - 7200, nbf: now - 7200, exp: now - 3600 })

      const viaGateway = await stack.client.request('GET', '/licenses', { token: expired })
      const direct = await fetch(`${stack.platform.license.url}/licenses`, { headers: { authorization: `Bearer ${expired}` } })

      assertProblem(viaGateway, 401, 'token_expired')
      assert.equal(direct.status, 401)
      assert.equal(((await direct.json()) as { code: string }).code, 'token_expired')
    })

    it('when the service is called directly with identity headers but no token, it refuses: it trusts only verified tokens', async () => {
      const res = await fetch(`${stack.platform.license.url}/licenses`, { headers: { 'x-authenticated-user-id': admin.id, 'x-authenticated-roles': 'admin' } })

      assert.equal(res.status, 401)
    })
  })
})

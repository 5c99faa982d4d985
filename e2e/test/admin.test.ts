import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import type { TestClient } from '@platform/testkit'
import { waitUntil } from '@platform/testkit'
import { ADMIN, ADMIN_ENV, jwtPart, loginAs, ownClient, registerUser } from '../src/auth-fixtures.ts'
import { assertProblem, RELAXED_RATE_LIMITS } from '../src/http-fixtures.ts'
import { GOOD_PASSWORD, startStack, uniqueEmail, type Stack } from '../src/stack.ts'

const me = (client: TestClient, accessToken: string) => client.request('GET', '/auth/me', { token: accessToken })
const users = (client: TestClient, accessToken: string, query = '') => client.request('GET', `/auth/admin/users${query}`, { token: accessToken })
const setRoles = (client: TestClient, accessToken: string, id: string, roles: unknown) =>
  client.request('PUT', `/auth/admin/users/${id}/roles`, { token: accessToken, json: { roles } })
const disable = (client: TestClient, accessToken: string, id: string) => client.request('POST', `/auth/admin/users/${id}/disable`, { token: accessToken })
const refresh = (client: TestClient, refreshToken: string) => client.request('POST', '/auth/refresh', { json: { refresh_token: refreshToken } })

describe('RBAC administration', () => {
  let stack: Stack
  before(async () => {
    stack = await startStack({ RATE_LIMITS: RELAXED_RATE_LIMITS, ...ADMIN_ENV })
  })
  after(() => stack.stop())

  it('when the stack starts with BOOTSTRAP_ADMIN_*, that admin logs in with role admin', async (t) => {
    const client = ownClient(t, stack)
    const session = await loginAs(client, ADMIN.email, ADMIN.password)
    const res = await me(client, session.accessToken)
    assert.deepEqual(res.body.roles, ['admin'])
    assert.deepEqual(jwtPart(session.accessToken, 1).roles, ['admin'])
  })

  it('when someone without the admin role calls an admin route, answers 403 forbidden', async (t) => {
    // Arrange
    const client = ownClient(t, stack)
    const user = await registerUser(client)
    const session = await loginAs(client, user.email)
    const reseller = await registerUser(client)
    const adminToken = (await loginAs(client, ADMIN.email, ADMIN.password)).accessToken
    assert.equal((await setRoles(client, adminToken, reseller.id, ['user', 'reseller'])).status, 200)
    const resellerToken = (await loginAs(client, reseller.email)).accessToken

    // Act + Assert
    for (const token of [session.accessToken, resellerToken]) {
      for (const [method, path, json] of [
        ['GET', '/auth/admin/users', undefined],
        ['PUT', `/auth/admin/users/${user.id}/roles`, { roles: ['admin'] }],
        ['POST', `/auth/admin/users/${user.id}/disable`, undefined],
        ['POST', '/auth/admin/revoke-all', undefined],
        ['POST', '/auth/admin/keys/rotate', undefined],
      ] as const) {
        assertProblem(await client.request(method, path, { token, json }), 403, 'forbidden', `${method} ${path}`)
      }
    }
    assert.deepEqual((await me(client, session.accessToken)).body.roles, ['user'], 'nothing changed')
    assertProblem(await users(client, ''), 401, 'unauthorized', 'without a token')
  })

  it('when an admin lists users, filters by exact e-mail and by role, and pages with next_cursor', async (t) => {
    // Arrange
    const client = ownClient(t, stack)
    const adminToken = (await loginAs(client, ADMIN.email, ADMIN.password)).accessToken
    const created = [await registerUser(client), await registerUser(client), await registerUser(client)]

    // Act
    const byEmail = await users(client, adminToken, `?email=${encodeURIComponent(`  ${created[1]!.email.toUpperCase()} `)}`)
    const prefix = await users(client, adminToken, `?email=${encodeURIComponent(created[1]!.email.slice(0, 8))}`)
    const admins = await users(client, adminToken, '?role=admin')
    const pages: { id: string }[][] = []
    let cursor: string | null = null
    do {
      const res: Awaited<ReturnType<typeof users>> = await users(client, adminToken, `?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
      assert.equal(res.status, 200, res.text)
      pages.push(res.body.items)
      cursor = res.body.next_cursor
    } while (cursor)

    // Assert
    assert.equal(byEmail.status, 200, byEmail.text)
    assert.equal(byEmail.body.items.length, 1, 'exact match after trimming and lower-casing')
    assert.deepEqual(Object.keys(byEmail.body.items[0]).sort(), ['created_at', 'disabled', 'email', 'email_verified', 'id', 'roles'])
    assert.deepEqual(byEmail.body.items[0], { ...byEmail.body.items[0], id: created[1]!.id, email: created[1]!.email, roles: ['user'], disabled: false, email_verified: false })
    assert.equal(byEmail.body.next_cursor, null)
    assert.equal(prefix.status === 400 || prefix.body.items.length === 0, true, 'no prefix matching')
    assert.ok(admins.body.items.every((u: { roles: string[] }) => u.roles.includes('admin')))
    assert.ok(admins.body.items.some((u: { email: string }) => u.email === ADMIN.email))
    const ids = pages.flat().map((u) => u.id)
    assert.equal(new Set(ids).size, ids.length, 'no user twice')
    for (const user of created) assert.ok(ids.includes(user.id), 'every user on some page')
    assert.ok(pages.slice(0, -1).every((page) => page.length === 2), 'full pages until the last')
    assertProblem(await users(client, adminToken, '?limit=501'), 400, 'validation_failed', 'limit over 500')
    assertProblem(await users(client, adminToken, '?role=root'), 400, 'validation_failed', 'unknown role')
    assertProblem(await users(client, adminToken, '?cursor=garbage'), 400, 'validation_failed', 'bad cursor')
  })

  it("when an admin sets a user's roles, answers 200 with the user, the user's earlier tokens die and refreshed ones carry the roles", async (t) => {
    // Arrange
    const client = ownClient(t, stack)
    const adminToken = (await loginAs(client, ADMIN.email, ADMIN.password)).accessToken
    const user = await registerUser(client)
    const session = await loginAs(client, user.email)

    // Act
    const res = await setRoles(client, adminToken, user.id, ['reseller', 'user', 'reseller'])

    // Assert
    assert.equal(res.status, 200, res.text)
    assert.equal(res.body.id, user.id)
    assert.deepEqual(res.body.roles, ['reseller', 'user'])
    assertProblem(await me(client, session.accessToken), 401, 'invalid_token', 'a token with the old roles')
    const refreshed = await refresh(client, session.refreshToken)
    assert.equal(refreshed.status, 200, `the session itself lives on: ${refreshed.text}`)
    assert.deepEqual((await me(client, refreshed.body.access_token)).body.roles, ['reseller', 'user'])
    assert.deepEqual(jwtPart(refreshed.body.access_token, 1).roles, ['reseller', 'user'])
    assertProblem(await setRoles(client, adminToken, randomUUID(), ['user']), 404, 'user_not_found', 'unknown user')
    assertProblem(await setRoles(client, adminToken, 'not-a-uuid', ['user']), 404, 'user_not_found', 'malformed id')
    assertProblem(await setRoles(client, adminToken, user.id, ['root']), 400, 'validation_failed', 'unknown role')
    assertProblem(await setRoles(client, adminToken, user.id, []), 400, 'validation_failed', 'no roles')
  })

  it('when an admin disables a user, every session dies, the right password answers 403 account_disabled and a wrong one 401', async (t) => {
    // Arrange
    const client = ownClient(t, stack)
    const adminToken = (await loginAs(client, ADMIN.email, ADMIN.password)).accessToken
    const user = await registerUser(client)
    const laptop = await loginAs(client, user.email)
    const phone = await loginAs(client, user.email)

    // Act
    const res = await disable(client, adminToken, user.id)

    // Assert
    assert.equal(res.status, 204, res.text)
    for (const session of [laptop, phone]) {
      assertProblem(await me(client, session.accessToken), 401, 'invalid_token', 'access token')
      assertProblem(await refresh(client, session.refreshToken), 401, 'invalid_token', 'refresh token')
    }
    const right = await client.request('POST', '/auth/login', { json: { email: user.email, password: GOOD_PASSWORD } })
    assertProblem(right, 403, 'account_disabled', 'the right password')
    const wrong = await client.request('POST', '/auth/login', { json: { email: user.email, password: 'not the password' } })
    assertProblem(wrong, 401, 'invalid_credentials', 'a wrong password reveals nothing')
    const listed = await users(client, adminToken, `?email=${encodeURIComponent(user.email)}`)
    assert.equal(listed.body.items[0].disabled, true)
    assertProblem(await disable(client, adminToken, randomUUID()), 404, 'user_not_found', 'unknown user')
  })

  it('when an admin rotates the signing key, new tokens carry the new kid, old tokens keep working, and the JWKS has both', async (t) => {
    // Arrange
    const client = ownClient(t, stack)
    const adminToken = (await loginAs(client, ADMIN.email, ADMIN.password)).accessToken
    const user = await registerUser(client)
    const before = await loginAs(client, user.email)
    const oldKid = jwtPart(before.accessToken, 0).kid as string

    // Act
    const res = await client.request('POST', '/auth/admin/keys/rotate', { token: adminToken })

    // Assert
    assert.equal(res.status, 200, res.text)
    assert.deepEqual(Object.keys(res.body), ['kid'])
    assert.notEqual(res.body.kid, oldKid)
    const jwks = await client.request('GET', '/.well-known/jwks.json')
    assert.deepEqual(jwks.body.keys.map((k: { kid: string }) => k.kid).sort(), [oldKid, res.body.kid].sort())
    const after = await loginAs(client, user.email)
    assert.equal(jwtPart(after.accessToken, 0).kid, res.body.kid, 'signed with the new key')
    assert.equal((await me(client, before.accessToken)).status, 200, 'a token of the old key works until it expires')
    // The gateway fetches the JWKS again on an unknown kid, at most every 5 s (gateway JWKS client).
    await waitUntil(async () => (await me(client, after.accessToken)).status === 200, { timeoutMs: 8000, intervalMs: 250, what: 'the gateway to learn the new key' })
    const refreshed = await refresh(client, before.refreshToken)
    assert.equal(jwtPart(refreshed.body.access_token, 0).kid, res.body.kid, 'refreshes sign with the new key too')
  })

  it('when a user is created by registration, the admin list shows it exactly once', async (t) => {
    const client = ownClient(t, stack)
    const adminToken = (await loginAs(client, ADMIN.email, ADMIN.password)).accessToken
    const email = uniqueEmail('listed')
    await registerUser(client, email)
    const res = await users(client, adminToken, `?email=${encodeURIComponent(email)}&role=user&limit=1`)
    assert.equal(res.body.items.length, 1)
    assert.equal(res.body.next_cursor, null)
  })
})

import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { TestClient } from '@platform/testkit'
import { loginAs, ownClient, registerUser } from '../src/auth-fixtures.ts'
import { assertProblem, RELAXED_RATE_LIMITS } from '../src/http-fixtures.ts'
import { startStack, uniqueLoopbackAddress, type Stack } from '../src/stack.ts'

const sessions = (client: TestClient, accessToken: string, query = '') => client.request('GET', `/auth/sessions${query}`, { token: accessToken })
const revoke = (client: TestClient, accessToken: string, id: string) => client.request('DELETE', `/auth/sessions/${id}`, { token: accessToken })
const me = (client: TestClient, accessToken: string) => client.request('GET', '/auth/me', { token: accessToken })
const refresh = (client: TestClient, refreshToken: string) => client.request('POST', '/auth/refresh', { json: { refresh_token: refreshToken } })

describe('GET /auth/sessions and DELETE /auth/sessions/{id}', () => {
  let stack: Stack
  before(async () => {
    stack = await startStack({ RATE_LIMITS: RELAXED_RATE_LIMITS })
  })
  after(() => stack.stop())

  it('when a user has two sessions, lists both with their times, user agent and a coarse ip_hint, and marks the current one', async (t) => {
    // Arrange
    const address = uniqueLoopbackAddress()
    const client = ownClient(t, stack, address)
    const user = await registerUser(client)
    const laptop = await loginAs(client, user.email, undefined, { 'user-agent': 'Laptop/1.0' })
    const phone = await loginAs(client, user.email, undefined, { 'user-agent': 'Phone/2.0' })

    // Act
    const res = await sessions(client, phone.accessToken)

    // Assert
    assert.equal(res.status, 200, res.text)
    assert.deepEqual(Object.keys(res.body).sort(), ['items', 'next_cursor'])
    assert.equal(res.body.next_cursor, null)
    assert.equal(res.body.items.length, 2)
    const [newest, oldest] = res.body.items
    assert.deepEqual(Object.keys(newest).sort(), ['created_at', 'current', 'id', 'ip_hint', 'last_used_at', 'user_agent'])
    assert.deepEqual(
      [newest.id, newest.user_agent, newest.current, oldest.id, oldest.user_agent, oldest.current],
      [phone.sessionId, 'Phone/2.0', true, laptop.sessionId, 'Laptop/1.0', false],
      'newest first; current is the session of the token',
    )
    const hint = `${address.split('.').slice(0, 3).join('.')}.x`
    for (const item of res.body.items) {
      assert.equal(item.ip_hint, hint, 'an IPv4 /24, never the address')
      assert.match(item.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
      assert.equal(item.last_used_at, item.created_at, 'not used since login')
    }
    assert.doesNotMatch(res.text, new RegExp(address.replaceAll('.', '\\.')), 'the full address appears nowhere')
  })

  it('when a session is refreshed, its last_used_at moves forward', async (t) => {
    // Arrange
    const client = ownClient(t, stack)
    const user = await registerUser(client)
    const session = await loginAs(client, user.email)

    // Act
    const rotated = await refresh(client, session.refreshToken)

    // Assert
    assert.equal(rotated.status, 200, rotated.text)
    const [item] = (await sessions(client, rotated.body.access_token)).body.items
    assert.equal(item.id, session.sessionId)
    assert.ok(Date.parse(item.last_used_at) > Date.parse(item.created_at), `${item.last_used_at} after ${item.created_at}`)
  })

  it('when the caller deletes another of its sessions, that one dies at the gateway at once and the caller keeps working', async (t) => {
    // Arrange
    const client = ownClient(t, stack)
    const user = await registerUser(client)
    const stolen = await loginAs(client, user.email)
    const mine = await loginAs(client, user.email)
    assert.equal((await me(client, stolen.accessToken)).status, 200)

    // Act
    const res = await revoke(client, mine.accessToken, stolen.sessionId)

    // Assert
    assert.equal(res.status, 204, res.text)
    const dead = await me(client, stolen.accessToken)
    assertProblem(dead, 401, 'invalid_token', "the revoked session's access token")
    assert.equal(dead.headers.get('www-authenticate'), 'Bearer error="invalid_token"')
    assertProblem(await refresh(client, stolen.refreshToken), 401, 'invalid_token', "the revoked session's refresh token")
    assert.equal((await me(client, mine.accessToken)).status, 200, 'the current session lives on')
    const listed = await sessions(client, mine.accessToken)
    assert.deepEqual(listed.body.items.map((item: { id: string }) => item.id), [mine.sessionId], 'only live sessions are listed')
    assertProblem(await revoke(client, mine.accessToken, stolen.sessionId), 404, 'session_not_found', 'deleting it again')
  })

  it('when the caller deletes its own current session, its token stops working', async (t) => {
    // Arrange
    const client = ownClient(t, stack)
    const user = await registerUser(client)
    const session = await loginAs(client, user.email)

    // Act
    const res = await revoke(client, session.accessToken, session.sessionId)

    // Assert
    assert.equal(res.status, 204, res.text)
    assertProblem(await me(client, session.accessToken), 401, 'invalid_token')
  })

  it("when the caller names another user's session, answers 404 session_not_found and that session lives on", async (t) => {
    // Arrange
    const client = ownClient(t, stack)
    const alice = await loginAs(client, (await registerUser(client)).email)
    const bob = await loginAs(client, (await registerUser(client)).email)

    // Act
    const res = await revoke(client, alice.accessToken, bob.sessionId)

    // Assert
    assertProblem(res, 404, 'session_not_found')
    assert.equal((await me(client, bob.accessToken)).status, 200, "bob's session is untouched")
    assert.equal((await sessions(client, bob.accessToken)).body.items.length, 1)
    for (const id of ['01a2289b-0000-7000-8000-000000000000', 'not-a-uuid']) {
      assertProblem(await revoke(client, alice.accessToken, id), 404, 'session_not_found', `unknown id ${id}`)
    }
  })

  it('when sessions are listed a page at a time, every session appears once and next_cursor ends with null', async (t) => {
    // Arrange
    const client = ownClient(t, stack)
    const user = await registerUser(client)
    const opened: string[] = []
    for (let i = 0; i < 3; i++) opened.push((await loginAs(client, user.email)).sessionId)
    const token = (await loginAs(client, user.email)).accessToken

    // Act
    const seen: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const res: Awaited<ReturnType<typeof sessions>> = await sessions(client, token, `?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
      assert.equal(res.status, 200, res.text)
      assert.ok(res.body.items.length <= 2)
      seen.push(...res.body.items.map((item: { id: string }) => item.id))
      cursor = res.body.next_cursor
      pages++
    } while (cursor)

    // Assert
    assert.equal(pages, 2)
    assert.equal(seen.length, 4)
    assert.equal(new Set(seen).size, 4)
    for (const id of opened) assert.ok(seen.includes(id))
    assertProblem(await sessions(client, token, '?limit=501'), 400, 'validation_failed', 'limit over 500')
    assertProblem(await sessions(client, token, '?cursor=bm9wZQ'), 400, 'validation_failed', 'a cursor not handed out')
    assertProblem(await sessions(client, token, '?colour=blue'), 400, 'validation_failed', 'an unknown parameter')
  })

  it('when there is no token, answers 401', async (t) => {
    const client = ownClient(t, stack)
    assertProblem(await client.request('GET', '/auth/sessions'), 401, 'unauthorized')
  })
})

import assert from 'node:assert/strict'
import { after, before, describe, it, type TestContext } from 'node:test'
import type { TestClient } from '@platform/testkit'
import { assertProblem } from '../src/http-fixtures.ts'
import { clientFrom, GOOD_PASSWORD, registerAndLogin, startStack, uniqueEmail, type Stack } from '../src/stack.ts'

// Every test talks from its own loopback address, so the default per-IP limits (5 logins a
// minute, 5 registrations an hour) hold per test and never couple tests of this file.
function ownClient(t: TestContext, stack: Stack): TestClient {
  const client = clientFrom(stack)
  t.after(() => client.close())
  return client
}

const refresh = (client: TestClient, refreshToken: string) => client.request('POST', '/auth/refresh', { json: { refresh_token: refreshToken } })
const me = (client: TestClient, accessToken: string) => client.request('GET', '/auth/me', { token: accessToken })

async function login(client: TestClient, email: string) {
  const res = await client.request('POST', '/auth/login', { json: { email, password: GOOD_PASSWORD } })
  assert.equal(res.status, 200, `login: ${res.text}`)
  return { accessToken: res.body.access_token as string, refreshToken: res.body.refresh_token as string }
}

async function assertRejectedAtGateway(client: TestClient, accessToken: string, message: string): Promise<void> {
  const res = await me(client, accessToken)
  assertProblem(res, 401, 'invalid_token', message)
  assert.equal(res.headers.get('www-authenticate'), 'Bearer error="invalid_token"', message)
}

describe('refresh rotation', () => {
  let stack: Stack
  before(async () => {
    stack = await startStack()
  })
  after(() => stack.stop())

  it('when a refresh token is used, returns a new one each time and the earlier access tokens keep working until they expire', async (t) => {
    // Arrange
    const client = ownClient(t, stack)
    const first = await registerAndLogin(client)

    // Act
    const second = await refresh(client, first.refreshToken)
    const third = await refresh(client, second.body.refresh_token)

    // Assert
    assert.equal(second.status, 200, second.text)
    assert.equal(third.status, 200, third.text)
    const refreshTokens = [first.refreshToken, second.body.refresh_token, third.body.refresh_token]
    assert.equal(new Set(refreshTokens).size, 3, 'every rotation hands out a new refresh token')
    for (const token of refreshTokens) assert.ok(token.length >= 43, 'at least 256 bits')
    assert.equal(third.body.token_type, 'Bearer')
    for (const accessToken of [first.accessToken, second.body.access_token, third.body.access_token]) {
      const res = await me(client, accessToken)
      assert.equal(res.status, 200, `an access token of a live session works until exp: ${res.text}`)
      assert.equal(res.body.id, first.id)
    }
  })

  it('when the parent is presented again within the leeway, returns the same successor', async (t) => {
    // Arrange
    const client = ownClient(t, stack)
    const user = await registerAndLogin(client)
    const rotated = await refresh(client, user.refreshToken)
    assert.equal(rotated.status, 200, rotated.text)

    // Act
    const again = await refresh(client, user.refreshToken)

    // Assert
    assert.equal(again.status, 200, again.text)
    assert.equal(again.body.refresh_token, rotated.body.refresh_token, 'a retry or a second tab gets the same successor')
    assert.equal((await me(client, again.body.access_token)).status, 200)
    const next = await refresh(client, again.body.refresh_token)
    assert.equal(next.status, 200, `the family was not revoked: ${next.text}`)
    assert.equal((await me(client, next.body.access_token)).status, 200)
  })

  it('when a grandparent is presented, answers 401 refresh_token_reused and revokes the whole session', async (t) => {
    // Arrange
    const client = ownClient(t, stack)
    const user = await registerAndLogin(client)
    const child = await refresh(client, user.refreshToken)
    const grandchild = await refresh(client, child.body.refresh_token)
    assert.equal(grandchild.status, 200, grandchild.text)
    assert.equal((await me(client, grandchild.body.access_token)).status, 200)

    // Act
    const reused = await refresh(client, user.refreshToken)

    // Assert
    assertProblem(reused, 401, 'refresh_token_reused', 'grandparent')
    const newest = await refresh(client, grandchild.body.refresh_token)
    assertProblem(newest, 401, 'invalid_token', 'the newest refresh token of the family')
    const parent = await refresh(client, child.body.refresh_token)
    assert.equal(parent.status, 401, `the parent of the newest is dead too: ${parent.text}`)
    await assertRejectedAtGateway(client, grandchild.body.access_token, 'newest access token of the revoked session')
    await assertRejectedAtGateway(client, user.accessToken, 'first access token of the revoked session')
  })

  it('when 20 refreshes of one token run at once, none fails with 5xx and all get the same successor, which then rotates', async (t) => {
    // Arrange
    const client = ownClient(t, stack)
    const user = await registerAndLogin(client)

    // Act
    const answers = await Promise.all(Array.from({ length: 20 }, () => refresh(client, user.refreshToken)))

    // Assert
    for (const res of answers) assert.ok(res.status < 500, `no 5xx: ${res.status} ${res.text}`)
    assert.deepEqual(
      answers.map((res) => res.status),
      Array.from({ length: 20 }, () => 200),
      'within the leeway every concurrent use of the parent is answered',
    )
    const successors = new Set(answers.map((res) => res.body.refresh_token as string))
    assert.equal(successors.size, 1, 'one surviving lineage')
    const [successor] = successors
    const next = await refresh(client, successor!)
    assert.equal(next.status, 200, next.text)
    assert.notEqual(next.body.refresh_token, successor)
    assert.equal((await me(client, next.body.access_token)).status, 200)
  })

  it('when an unknown refresh token is presented, answers 401 invalid_token', async (t) => {
    // Arrange
    const client = ownClient(t, stack)

    // Act
    const res = await refresh(client, 'bm90LWEtcmVhbC1yZWZyZXNoLXRva2VuLWF0LWFsbC0wMTIzNDU2Nzg5')

    // Assert
    assertProblem(res, 401, 'invalid_token')
  })

  it('when a user logs out everywhere, every session of that user dies and another user keeps working', async (t) => {
    // Arrange
    const client = ownClient(t, stack)
    const alice = await registerAndLogin(client, uniqueEmail('alice'))
    const alicePhone = await login(client, alice.email)
    const rotated = await refresh(client, alicePhone.refreshToken)
    assert.equal(rotated.status, 200, rotated.text)
    const bob = await registerAndLogin(client, uniqueEmail('bob'))

    // Act
    const res = await client.request('POST', '/auth/logout-all', { token: alice.accessToken })

    // Assert
    assert.equal(res.status, 204, res.text)
    for (const [name, accessToken] of [
      ['laptop', alice.accessToken],
      ['phone, first', alicePhone.accessToken],
      ['phone, rotated', rotated.body.access_token as string],
    ] as const) {
      await assertRejectedAtGateway(client, accessToken, `alice's ${name} access token`)
    }
    assertProblem(await refresh(client, alice.refreshToken), 401, 'invalid_token', "alice's laptop refresh token")
    assertProblem(await refresh(client, rotated.body.refresh_token), 401, 'invalid_token', "alice's phone refresh token")
    assert.equal((await me(client, bob.accessToken)).status, 200, "bob's access token")
    assert.equal((await refresh(client, bob.refreshToken)).status, 200, "bob's refresh token")
    const again = await login(client, alice.email)
    assert.equal((await me(client, again.accessToken)).status, 200, 'a session opened afterwards is not born dead')
  })
})

describe('refresh rotation with REFRESH_REUSE_LEEWAY=0', () => {
  let stack: Stack
  before(async () => {
    stack = await startStack({ REFRESH_REUSE_LEEWAY: '0' })
  })
  after(() => stack.stop())

  it('when the parent is presented again, answers 401 refresh_token_reused and revokes the session', async (t) => {
    // Arrange
    const client = ownClient(t, stack)
    const user = await registerAndLogin(client)
    const rotated = await refresh(client, user.refreshToken)
    assert.equal(rotated.status, 200, rotated.text)

    // Act
    const again = await refresh(client, user.refreshToken)

    // Assert
    assertProblem(again, 401, 'refresh_token_reused')
    assertProblem(await refresh(client, rotated.body.refresh_token), 401, 'invalid_token', 'the successor')
    await assertRejectedAtGateway(client, rotated.body.access_token, 'access token of the revoked session')
  })
})

import assert from 'node:assert/strict'
import { after, before, describe, it, type TestContext } from 'node:test'
import { hasRedisServer, startPrivateRedis, waitUntil, type PrivateRedis, type TestClient } from '@platform/testkit'
import { assertProblem } from '../src/http-fixtures.ts'
import { clientFrom, GOOD_PASSWORD, registerAndLogin, startStack, type Stack } from '../src/stack.ts'

// These tests stop and flush Redis, so they run on a redis-server of their own, never the shared one.
const haveRedis = hasRedisServer()
if (!haveRedis && process.env.REQUIRE_INFRA === '1') throw new Error('REQUIRE_INFRA=1 but there is no redis-server on PATH')

const me = (client: TestClient, accessToken: string) => client.request('GET', '/auth/me', { token: accessToken })
const refresh = (client: TestClient, refreshToken: string) => client.request('POST', '/auth/refresh', { json: { refresh_token: refreshToken } })

/** A user with two sessions: `loggedOut` was logged out, `valid` is live. */
async function userWithLoggedOutSession(client: TestClient) {
  const user = await registerAndLogin(client)
  const second = await client.request('POST', '/auth/login', { json: { email: user.email, password: GOOD_PASSWORD } })
  assert.equal(second.status, 200, second.text)
  const logout = await client.request('POST', '/auth/logout', { token: user.accessToken })
  assert.equal(logout.status, 204, logout.text)
  assertProblem(await me(client, user.accessToken), 401, 'invalid_token', 'right after logout')
  return { email: user.email, loggedOut: user.accessToken, valid: second.body.access_token as string }
}

/**
 * Polls until the valid token is served again, failing at once if a revoked token is ever
 * accepted on the way: the only acceptable answers meanwhile are 401 and 503 (fail closed).
 */
async function waitForRecovery(client: TestClient, tokens: { revoked: readonly string[]; valid: string }, what: string): Promise<void> {
  await waitUntil(
    async () => {
      for (const [i, token] of tokens.revoked.entries()) {
        const dead = await me(client, token)
        assert.ok([401, 503].includes(dead.status), `revoked token ${i + 1} during ${what}: ${dead.status} ${dead.text}`)
      }
      const live = await me(client, tokens.valid)
      assert.ok([200, 503].includes(live.status), `valid token during ${what}: ${live.status} ${live.text}`)
      return live.status === 200
    },
    { timeoutMs: 10_000, intervalMs: 100, what: `the valid token to be served again after ${what}` },
  )
}

describe('revocation durability', { skip: haveRedis ? false : 'no redis-server on PATH' }, () => {
  let redis: PrivateRedis
  let stack: Stack
  before(async () => {
    redis = await startPrivateRedis()
    stack = await startStack({ REDIS_URL: redis.url })
  })
  after(async () => {
    await stack?.stop()
    await redis?.close()
  })

  function ownClient(t: TestContext): TestClient {
    const client = clientFrom(stack)
    t.after(() => client.close())
    return client
  }

  it('when the gateway restarts, a logged-out token stays rejected', async (t) => {
    // Arrange
    const client = ownClient(t)
    const tokens = await userWithLoggedOutSession(client)

    // Act
    await stack.restartGateway()

    // Assert
    const res = await me(client, tokens.loggedOut)
    assertProblem(res, 401, 'invalid_token')
    assert.equal(res.headers.get('www-authenticate'), 'Bearer error="invalid_token"')
    assert.equal((await me(client, tokens.valid)).status, 200)
  })

  it('when Redis loses every key, a logged-out token is never accepted and valid tokens return once the lists are restored', async (t) => {
    // Arrange
    const client = ownClient(t)
    const tokens = await userWithLoggedOutSession(client)

    // Act
    await redis.flushAll()

    // Assert
    await waitForRecovery(client, { revoked: [tokens.loggedOut], valid: tokens.valid }, 'the flush')
    assertProblem(await me(client, tokens.loggedOut), 401, 'invalid_token', 'logged-out token after the restore')
  })

  it('when Redis is down, token checks and sensitive limits fail closed, anonymous reads are served, and all recovers once it is back', async (t) => {
    // Arrange
    const client = ownClient(t)
    const tokens = await userWithLoggedOutSession(client)
    let down = true
    t.after(async () => {
      if (down) await redis.start()
    })

    // Act
    await redis.stop()

    // Assert
    assertProblem(await me(client, tokens.valid), 503, 'dependency_unavailable', 'valid token without Redis')
    assertProblem(await me(client, tokens.loggedOut), 503, 'dependency_unavailable', 'logged-out token without Redis')
    const login = await client.request('POST', '/auth/login', { json: { email: tokens.email, password: GOOD_PASSWORD } })
    assertProblem(login, 503, 'dependency_unavailable', 'login without Redis')
    const forgot = await client.request('POST', '/auth/password/forgot', { json: { email: tokens.email } })
    assertProblem(forgot, 503, 'dependency_unavailable', 'password reset request without Redis')
    const logout = await client.request('POST', '/auth/logout', { token: tokens.valid })
    assertProblem(logout, 503, 'dependency_unavailable', 'logout without Redis')
    const jwks = await client.request('GET', '/.well-known/jwks.json')
    assert.equal(jwks.status, 200, `anonymous non-sensitive request without Redis: ${jwks.text}`)
    assert.ok(Array.isArray(jwks.body.keys) && jwks.body.keys.length > 0)

    await redis.start()
    down = false
    await waitForRecovery(client, { revoked: [tokens.loggedOut], valid: tokens.valid }, 'Redis came back empty')
    assertProblem(await me(client, tokens.loggedOut), 401, 'invalid_token', 'logged-out token after Redis is back')
    const relogin = await client.request('POST', '/auth/login', { json: { email: tokens.email, password: GOOD_PASSWORD } })
    assert.equal(relogin.status, 200, `login once Redis is back: ${relogin.text}`)
  })

  it('while Redis is down, reuse revokes the family in PostgreSQL (revoked once Redis is back) and an honest rotation still works', async (t) => {
    // Arrange
    const client = ownClient(t)
    const user = await registerAndLogin(client)
    const child = await refresh(client, user.refreshToken)
    const grandchild = await refresh(client, child.body.refresh_token)
    assert.equal(grandchild.status, 200, grandchild.text)
    const other = await client.request('POST', '/auth/login', { json: { email: user.email, password: GOOD_PASSWORD } })
    assert.equal(other.status, 200, other.text)
    let down = true
    t.after(async () => {
      if (down) await redis.start()
    })
    await redis.stop()

    // Act
    const reused = await refresh(client, user.refreshToken)
    const rotation = await refresh(client, other.body.refresh_token)

    // Assert
    assertProblem(reused, 401, 'refresh_token_reused', 'reuse decided from PostgreSQL while Redis is down')
    // A rotation reads its not-before instants from PostgreSQL, the record: Redis is not needed.
    assert.equal(rotation.status, 200, `a rotation decided from PostgreSQL while Redis is down: ${rotation.text}`)
    await redis.start()
    down = false
    await waitForRecovery(client, { revoked: [grandchild.body.access_token, user.accessToken], valid: rotation.body.access_token }, 'Redis came back empty')
    assertProblem(await me(client, grandchild.body.access_token), 401, 'invalid_token', 'newest access token of the reused family')
    assertProblem(await refresh(client, grandchild.body.refresh_token), 401, 'invalid_token', 'newest refresh token of the reused family')
    const next = await refresh(client, rotation.body.refresh_token)
    assert.equal(next.status, 200, `the token rotated while Redis was down rotates again: ${next.text}`)
  })
})

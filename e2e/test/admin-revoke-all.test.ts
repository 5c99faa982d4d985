import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { TestClient } from '@platform/testkit'
import { ADMIN, ADMIN_ENV, loginAs, ownClient, registerUser } from '../src/auth-fixtures.ts'
import { assertProblem, RELAXED_RATE_LIMITS } from '../src/http-fixtures.ts'
import { startStack, type Stack } from '../src/stack.ts'

// POST /auth/admin/revoke-all kills every token of the stack, so it has a stack of its own.

const me = (client: TestClient, accessToken: string) => client.request('GET', '/auth/me', { token: accessToken })
const refresh = (client: TestClient, refreshToken: string) => client.request('POST', '/auth/refresh', { json: { refresh_token: refreshToken } })

describe('POST /auth/admin/revoke-all', () => {
  let stack: Stack
  before(async () => {
    stack = await startStack({ RATE_LIMITS: RELAXED_RATE_LIMITS, ...ADMIN_ENV })
  })
  after(() => stack.stop())

  it('when a user calls it, answers 403 forbidden and nothing is revoked', async (t) => {
    const client = ownClient(t, stack)
    const session = await loginAs(client, (await registerUser(client)).email)
    assertProblem(await client.request('POST', '/auth/admin/revoke-all', { token: session.accessToken }), 403, 'forbidden')
    assert.equal((await me(client, session.accessToken)).status, 200)
  })

  it('when an admin calls it, every access and refresh token issued before dies at once and new logins work', async (t) => {
    // Arrange
    const client = ownClient(t, stack)
    const alice = await loginAs(client, (await registerUser(client)).email)
    const bob = await registerUser(client)
    const bobSession = await loginAs(client, bob.email)
    const bobRotated = await refresh(client, bobSession.refreshToken)
    assert.equal(bobRotated.status, 200, bobRotated.text)
    const admin = await loginAs(client, ADMIN.email, ADMIN.password)

    // Act
    const res = await client.request('POST', '/auth/admin/revoke-all', { token: admin.accessToken })

    // Assert
    assert.equal(res.status, 204, res.text)
    for (const [who, token] of [
      ['alice', alice.accessToken],
      ['bob', bobSession.accessToken],
      ['bob rotated', bobRotated.body.access_token as string],
      ['the admin who did it', admin.accessToken],
    ] as const) {
      const dead = await me(client, token)
      assertProblem(dead, 401, 'invalid_token', `${who}: access token`)
      assert.equal(dead.headers.get('www-authenticate'), 'Bearer error="invalid_token"')
    }
    for (const [who, token] of [
      ['alice', alice.refreshToken],
      ['bob', bobRotated.body.refresh_token as string],
    ] as const) {
      assertProblem(await refresh(client, token), 401, 'invalid_token', `${who}: refresh token`)
    }
    const again = await loginAs(client, bob.email)
    assert.equal((await me(client, again.accessToken)).status, 200, 'a token issued afterwards is not born dead')
    const adminAgain = await loginAs(client, ADMIN.email, ADMIN.password)
    assert.equal((await client.request('GET', '/auth/admin/users?limit=1', { token: adminAgain.accessToken })).status, 200)
  })
})

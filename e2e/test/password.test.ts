import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { TestClient } from '@platform/testkit'
import { loginAs, ownClient, registerUser } from '../src/auth-fixtures.ts'
import { assertProblem, RELAXED_RATE_LIMITS } from '../src/http-fixtures.ts'
import { GOOD_PASSWORD, startStack, uniqueEmail, type Stack } from '../src/stack.ts'

const NEW_PASSWORD = 'a brand new passphrase for this'

const change = (client: TestClient, accessToken: string, body: Record<string, unknown>) =>
  client.request('POST', '/auth/password/change', { token: accessToken, json: body })
const me = (client: TestClient, accessToken: string) => client.request('GET', '/auth/me', { token: accessToken })
const refresh = (client: TestClient, refreshToken: string) => client.request('POST', '/auth/refresh', { json: { refresh_token: refreshToken } })
const login = (client: TestClient, email: string, password: string) => client.request('POST', '/auth/login', { json: { email, password } })

/** Asserts a 400 validation_failed whose only error is at `path`. */
function assertPolicyRefusal(res: Awaited<ReturnType<typeof login>>, path: string, message: RegExp, what: string): void {
  assertProblem(res, 400, 'validation_failed', what)
  assert.equal(res.body.errors.length, 1, `${what}: ${res.text}`)
  assert.equal(res.body.errors[0].path, path, what)
  assert.match(res.body.errors[0].message, message, what)
}

describe('POST /auth/password/change and the password policy', () => {
  let stack: Stack
  before(async () => {
    stack = await startStack({ RATE_LIMITS: RELAXED_RATE_LIMITS })
  })
  after(() => stack.stop())

  it('when the password is changed while another device is logged in, that device is logged out and this one stays', async (t) => {
    // Arrange
    const client = ownClient(t, stack)
    const user = await registerUser(client)
    const otherDevice = await loginAs(client, user.email)
    const thisDevice = await loginAs(client, user.email)

    // Act
    const res = await change(client, thisDevice.accessToken, { current_password: GOOD_PASSWORD, new_password: NEW_PASSWORD })

    // Assert
    assert.equal(res.status, 204, res.text)
    assertProblem(await me(client, otherDevice.accessToken), 401, 'invalid_token', "the other device's access token")
    assertProblem(await refresh(client, otherDevice.refreshToken), 401, 'invalid_token', "the other device's refresh token")
    assert.equal((await me(client, thisDevice.accessToken)).status, 200, 'this session keeps its access token')
    const rotated = await refresh(client, thisDevice.refreshToken)
    assert.equal(rotated.status, 200, `and its refresh token: ${rotated.text}`)
    assertProblem(await login(client, user.email, GOOD_PASSWORD), 401, 'invalid_credentials', 'the old password')
    assert.equal((await login(client, user.email, NEW_PASSWORD)).status, 200, 'the new password')
  })

  it('when the current password is wrong, answers 401 invalid_credentials and changes nothing', async (t) => {
    // Arrange
    const client = ownClient(t, stack)
    const user = await registerUser(client)
    const otherDevice = await loginAs(client, user.email)
    const thisDevice = await loginAs(client, user.email)

    // Act
    const res = await change(client, thisDevice.accessToken, { current_password: 'not my password at all', new_password: NEW_PASSWORD })

    // Assert
    assertProblem(res, 401, 'invalid_credentials')
    assert.equal((await me(client, otherDevice.accessToken)).status, 200, 'other sessions untouched')
    assert.equal((await login(client, user.email, GOOD_PASSWORD)).status, 200, 'the password is unchanged')
  })

  it('when the new password breaks the policy, answers 400 validation_failed at /new_password', async (t) => {
    // Arrange
    const client = ownClient(t, stack)
    const user = await registerUser(client)
    const session = await loginAs(client, user.email)
    const localPart = user.email.slice(0, user.email.indexOf('@'))

    // Act + Assert
    for (const [newPassword, message] of [
      ['Password1', /too common/],
      ['short', /at least 8/],
      [user.email.toUpperCase(), /e-mail/],
      [localPart, /e-mail/],
      ['x'.repeat(257), /at most 256/],
    ] as const) {
      const res = await change(client, session.accessToken, { current_password: GOOD_PASSWORD, new_password: newPassword })
      assertPolicyRefusal(res, '/new_password', message, `new password ${newPassword.slice(0, 20)}`)
    }
    assert.equal((await login(client, user.email, GOOD_PASSWORD)).status, 200, 'the password is unchanged')
  })

  it('when the body has an unknown field or lacks one, answers 400 validation_failed naming it', async (t) => {
    const client = ownClient(t, stack)
    const session = await loginAs(client, (await registerUser(client)).email)
    const extra = await change(client, session.accessToken, { current_password: GOOD_PASSWORD, new_password: NEW_PASSWORD, confirm: NEW_PASSWORD })
    assertPolicyRefusal(extra, '/confirm', /unknown field/, 'unknown field')
    const missing = await change(client, session.accessToken, { new_password: NEW_PASSWORD })
    assertPolicyRefusal(missing, '/current_password', /./, 'missing field')
  })

  it('when someone registers with a common password or their own e-mail, answers 400 validation_failed at /password', async (t) => {
    // Arrange
    const client = ownClient(t, stack)
    const email = uniqueEmail('policy')

    // Act + Assert
    for (const [password, message] of [
      ['iloveyou', /too common/],
      ['QWERTYUIOP', /too common/],
      ['seven77', /at least 8/],
      [email, /e-mail/],
      [email.slice(0, email.indexOf('@')), /e-mail/],
    ] as const) {
      const res = await client.request('POST', '/auth/register', { json: { email, password } })
      assertPolicyRefusal(res, '/password', message, `password ${password}`)
    }
    const res = await client.request('POST', '/auth/register', { json: { email, password: GOOD_PASSWORD } })
    assert.equal(res.status, 201, `a good password: ${res.text}`)
  })
})

import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { GOOD_PASSWORD, startStack, uniqueEmail, type Stack } from '../src/stack.ts'

describe('README walk-through through the gateway', () => {
  let stack: Stack
  before(async () => {
    stack = await startStack()
  })
  after(() => stack.stop())

  it('register → login → me → refresh → logout works, and the old access token dies at once', async () => {
    const { client } = stack
    const email = uniqueEmail()

    const registered = await client.request('POST', '/auth/register', { json: { email: `  ${email.toUpperCase()} `, password: GOOD_PASSWORD } })
    assert.equal(registered.status, 201)
    assert.deepEqual(Object.keys(registered.body).sort(), ['email', 'email_verified', 'id'])
    assert.equal(registered.body.email, email)
    assert.equal(registered.body.email_verified, false)

    const login = await client.request('POST', '/auth/login', { json: { email, password: GOOD_PASSWORD } })
    assert.equal(login.status, 200)
    assert.equal(login.body.token_type, 'Bearer')
    assert.equal(login.body.expires_in, 900)
    assert.ok(login.body.refresh_token.length >= 43)

    const me = await client.request('GET', '/auth/me', { token: login.body.access_token })
    assert.equal(me.status, 200)
    assert.equal(me.body.id, registered.body.id)
    assert.deepEqual(me.body.roles, ['user'])

    const refreshed = await client.request('POST', '/auth/refresh', { json: { refresh_token: login.body.refresh_token } })
    assert.equal(refreshed.status, 200)
    assert.notEqual(refreshed.body.refresh_token, login.body.refresh_token)

    const logout = await client.request('POST', '/auth/logout', { token: refreshed.body.access_token })
    assert.equal(logout.status, 204)
    const afterLogout = await client.request('GET', '/auth/me', { token: refreshed.body.access_token })
    assert.equal(afterLogout.status, 401)
    assert.equal(afterLogout.body.code, 'invalid_token')
    assert.equal(afterLogout.headers.get('www-authenticate'), 'Bearer error="invalid_token"')
    const refreshAfterLogout = await client.request('POST', '/auth/refresh', { json: { refresh_token: refreshed.body.refresh_token } })
    assert.equal(refreshAfterLogout.status, 401)
  })
})

import assert from 'node:assert/strict'
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import type { JsonResponse, TestClient } from '@platform/testkit'
import { assertDocumented, operationsOf, type Operation } from '../src/openapi-fixtures.ts'
import { ADMIN, ADMIN_ENV, loginAs, registerUser, type Session } from '../src/auth-fixtures.ts'
import { RELAXED_RATE_LIMITS } from '../src/http-fixtures.ts'
import { GOOD_PASSWORD, startStack, TEST_INTROSPECTION_CLIENT, uniqueEmail, type Stack } from '../src/stack.ts'

// The auth API document, fetched through the gateway, is held to what the service does: every
// documented operation is called, successfully and in the ways it can fail, and every answer
// must be a documented status with a documented code.

/* eslint-disable @typescript-eslint/no-explicit-any -- the document is arbitrary JSON */

describe('GET /auth/openapi.json', () => {
  let stack: Stack
  let doc: any
  let client: TestClient
  let admin: () => Promise<Session>
  let user: () => Promise<Session & { email: string; id: string }>
  before(async () => {
    stack = await startStack({ RATE_LIMITS: RELAXED_RATE_LIMITS, ...ADMIN_ENV })
    client = stack.client
    admin = () => loginAs(client, ADMIN.email, ADMIN.password)
    user = async () => {
      const registered = await registerUser(client)
      return { ...(await loginAs(client, registered.email)), ...registered }
    }
  })
  after(() => stack.stop())

  /** Calls an operation through the gateway, or directly at auth when it is internal. */
  function call(op: Operation, opts: { token?: string; id?: string; json?: unknown; body?: string; query?: string; headers?: Record<string, string> }) {
    const path = op.path.replace('{id}', opts.id ?? randomUUID()) + (opts.query ?? '')
    if (op.method === 'GET') opts = { ...opts, json: undefined, body: undefined }
    const headers = { ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers }
    if (!op['x-internal']) return client.request(op.method, path, { token: opts.token, json: opts.json, body: opts.body, headers })
    return fetch(`${stack.platform.auth.url}${path}`, {
      method: op.method,
      headers: { ...headers, ...(opts.json !== undefined ? { 'content-type': 'application/json' } : {}), ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
      body: opts.json !== undefined ? JSON.stringify(opts.json) : opts.body,
    }).then(async (response) => {
      const text = await response.text()
      return { status: response.status, headers: response.headers, text, body: text ? JSON.parse(text) : undefined, response } as unknown as JsonResponse
    })
  }

  it('is served through the gateway as OpenAPI 3.1 with every auth route, its request body, answers and problem codes', async () => {
    const res = await client.request('GET', '/auth/openapi.json')
    assert.equal(res.status, 200, res.text)
    doc = res.body
    assert.equal(doc.openapi, '3.1.0')
    const routes = operationsOf(doc).map((op) => `${op.method} ${op.path}`)
    for (const route of [
      'POST /auth/register', 'POST /auth/login', 'POST /auth/refresh', 'POST /auth/logout', 'POST /auth/logout-all', 'GET /auth/me',
      'GET /auth/sessions', 'DELETE /auth/sessions/{id}', 'POST /auth/password/change', 'POST /auth/password/forgot',
      'POST /auth/password/reset', 'POST /auth/introspect',
      'GET /auth/admin/users', 'PUT /auth/admin/users/{id}/roles', 'POST /auth/admin/users/{id}/disable',
      'POST /auth/admin/revoke-all', 'POST /auth/admin/keys/rotate', 'GET /.well-known/jwks.json', 'GET /auth/openapi.json',
    ]) assert.ok(routes.includes(route), `${route} documented`)
    const login = doc.paths['/auth/login'].post
    assert.deepEqual(login.requestBody.content['application/json'].schema.required, ['email', 'password'])
    assert.equal(login.requestBody.content['application/json'].schema.additionalProperties, false)
    assert.deepEqual(login.responses['423'].content['application/problem+json'].schema.allOf[1].properties.code.enum, ['account_locked'])
    for (const op of operationsOf(doc)) {
      assert.ok(Object.keys(op.responses).some((status) => status.startsWith('2')), `${op.operationId}: a success answer`)
      for (const [status, response] of Object.entries(op.responses)) {
        if (Number(status) < 400) continue
        for (const code of response.content['application/problem+json'].schema.allOf[1].properties.code.enum) {
          const entry = doc['x-problems'][code]
          const statuses = [entry?.status, ...(entry?.other_statuses ?? [])]
          assert.ok(statuses.includes(Number(status)), `${op.operationId}: ${code} is in x-problems with status ${status}`)
        }
      }
    }
  })

  it('when each documented operation is called wrongly (no token, wrong role, bad bodies, bad ids), every answer is documented', async () => {
    // Runs before the valid calls, which end by revoking every token and rotating the key. No
    // probe below succeeds at anything lasting except logging a user out, so one user session
    // (fresh where a probe may end it) and one admin session serve them all.
    const shared = { user: await user(), admin: await admin() }
    for (const op of operationsOf(doc)) {
      const userToken = async () => (['logout', 'logoutAll'].includes(op.operationId) ? (await user()).accessToken : shared.user.accessToken)
      const probes: [string, () => Promise<{ token?: string; id?: string; json?: unknown; body?: string; query?: string }>][] = [
        ['anonymous, empty object', async () => ({ json: op.requestBody ? {} : undefined })],
        ['anonymous, malformed JSON', async () => ({ body: '{"email": ' })],
        ['user, empty object', async () => ({ token: await userToken(), json: op.requestBody ? {} : undefined })],
        ['user, unknown field', async () => ({ token: await userToken(), json: { unexpected: true }, query: '?unexpected=1' })],
        ['admin, unknown field', async () => ({ token: shared.admin.accessToken, json: { unexpected: true }, query: '?unexpected=1' })],
        ['admin, not an id', async () => ({ token: shared.admin.accessToken, id: 'not-an-id', json: { unexpected: true } })],
        ['a forged token', async () => ({ token: 'eyJhbGciOiJFUzI1NiJ9.e30.AAAA', json: op.requestBody ? {} : undefined })],
      ]
      if (op.method === 'GET') probes.splice(1, 1)
      for (const [what, make] of probes) {
        const res = await call(op, await make())
        assertDocumented(op, res, what)
      }
    }
  })

  it('when each documented operation is called as documented, it answers its documented success', async () => {
    // One valid call per operation; the last two revoke every token and rotate the key.
    const examples: Record<string, () => Promise<JsonResponse>> = {
      register: () => client.request('POST', '/auth/register', { json: { email: uniqueEmail(), password: GOOD_PASSWORD } }),
      login: async () => client.request('POST', '/auth/login', { json: { email: (await registerUser(client)).email, password: GOOD_PASSWORD } }),
      refresh: async () => client.request('POST', '/auth/refresh', { json: { refresh_token: (await user()).refreshToken } }),
      logout: async () => client.request('POST', '/auth/logout', { token: (await user()).accessToken }),
      logoutAll: async () => client.request('POST', '/auth/logout-all', { token: (await user()).accessToken, json: {} }),
      me: async () => client.request('GET', '/auth/me', { token: (await user()).accessToken }),
      listSessions: async () => client.request('GET', '/auth/sessions?limit=10', { token: (await user()).accessToken }),
      revokeSession: async () => {
        const caller = await user()
        const other = await loginAs(client, caller.email)
        return client.request('DELETE', `/auth/sessions/${other.sessionId}`, { token: caller.accessToken })
      },
      changePassword: async () =>
        client.request('POST', '/auth/password/change', { token: (await user()).accessToken, json: { current_password: GOOD_PASSWORD, new_password: 'another fine passphrase' } }),
      forgotPassword: async () => client.request('POST', '/auth/password/forgot', { json: { email: (await registerUser(client)).email } }),
      resetPassword: async () => {
        // The token otherwise only travels in the reset mail: store a known one's hash.
        const token = randomBytes(32).toString('base64url')
        await stack.platform.auth.deps.db
          .insertInto('password_reset_tokens')
          .values({ id: randomUUID(), user_id: (await registerUser(client)).id, token_hash: createHash('sha256').update(token).digest('base64url'), expires_at: new Date(Date.now() + 60_000), used_at: null })
          .execute()
        return client.request('POST', '/auth/password/reset', { json: { token, new_password: 'a fresh passphrase after reset' } })
      },
      introspect: async () => {
        const token = (await user()).accessToken
        const op = operationsOf(doc).find((o) => o.operationId === 'introspect')!
        const basic = Buffer.from(`${TEST_INTROSPECTION_CLIENT.id}:${TEST_INTROSPECTION_CLIENT.secret}`).toString('base64')
        return call(op, { body: `token=${token}`, headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}` } })
      },
      listUsers: async () => client.request('GET', '/auth/admin/users?role=user&limit=5', { token: (await admin()).accessToken }),
      setRoles: async () => client.request('PUT', `/auth/admin/users/${(await registerUser(client)).id}/roles`, { token: (await admin()).accessToken, json: { roles: ['user', 'reseller'] } }),
      disableUser: async () => client.request('POST', `/auth/admin/users/${(await registerUser(client)).id}/disable`, { token: (await admin()).accessToken }),
      verifyEmail: async () => {
        // The token otherwise only travels in the verification mail: store a known one's hash.
        const token = randomBytes(32).toString('base64url')
        await stack.platform.auth.deps.db
          .insertInto('email_verification_tokens')
          .values({ id: randomUUID(), user_id: (await registerUser(client)).id, token_hash: createHash('sha256').update(token).digest('base64url'), expires_at: new Date(Date.now() + 60_000), used_at: null })
          .execute()
        return client.request('POST', '/auth/email/verify', { json: { token } })
      },
      jwks: () => client.request('GET', '/.well-known/jwks.json'),
      openApi: () => client.request('GET', '/auth/openapi.json'),
      revokeAll: async () => client.request('POST', '/auth/admin/revoke-all', { token: (await admin()).accessToken, json: {} }),
      rotateKey: async () => client.request('POST', '/auth/admin/keys/rotate', { token: (await admin()).accessToken }),
    }
    const operations = operationsOf(doc)
    assert.deepEqual(operations.map((op) => op.operationId).sort(), Object.keys(examples).sort(), 'an example for every documented operation')
    for (const id of Object.keys(examples)) {
      const op = operations.find((o) => o.operationId === id)!
      const res = await examples[id]!()
      assert.ok(res.status < 300, `${id}: ${res.status} ${res.text}`)
      assertDocumented(op, res, 'valid call')
    }
  })

  it('when an internal operation is called through the gateway, answers 404: it is not public', async () => {
    for (const op of operationsOf(doc).filter((o) => o['x-internal'])) {
      const res = await client.request(op.method, op.path, { body: 'token=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
      assert.equal(res.status, 404, `${op.method} ${op.path}`)
    }
  })
})

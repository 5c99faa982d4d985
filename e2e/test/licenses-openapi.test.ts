import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import type { JsonResponse, TestClient } from '@platform/testkit'
import { assertProblemsMatchCatalogue } from '@platform/platform/openapi-testing'
import { assertDocumented, operationsOf, type Operation } from '../src/openapi-fixtures.ts'
import { RELAXED_RATE_LIMITS } from '../src/http-fixtures.ts'
import { issueLicense, newFingerprint, userWithRoles, type TestUser } from '../src/license-fixtures.ts'
import { startStack, type Stack } from '../src/stack.ts'

// The license API document, fetched through the gateway, is held to what the service does: every
// documented operation is called, successfully and in the ways it can fail, and every answer
// must be a documented status with a documented code (as e2e/test/openapi.test.ts does for auth).

/* eslint-disable @typescript-eslint/no-explicit-any -- the document is arbitrary JSON */

describe('GET /licenses/openapi.json', () => {
  let stack: Stack
  let client: TestClient
  let doc: any
  let reseller: TestUser
  let admin: TestUser
  before(async () => {
    stack = await startStack({ RATE_LIMITS: RELAXED_RATE_LIMITS })
    client = stack.client
    reseller = await userWithRoles(stack, ['reseller'])
    admin = await userWithRoles(stack, ['admin'])
  })
  after(() => stack.stop())

  function call(op: Operation, opts: { token?: string; ids?: string; json?: unknown; body?: string; query?: string }) {
    const path = op.path.replace(/\{\w+\}/g, () => opts.ids ?? randomUUID()) + (opts.query ?? '')
    if (op.method === 'GET') opts = { ...opts, json: undefined, body: undefined }
    const headers: Record<string, string> = opts.body !== undefined ? { 'content-type': 'application/json' } : {}
    return client.request(op.method, path, { token: opts.token, json: opts.json, body: opts.body, headers })
  }

  /** An issued license with one activated machine. */
  async function activated(): Promise<{ id: string; key: string; fingerprint: string; activationId: string }> {
    const license = await issueLicense(client, reseller.accessToken)
    const fingerprint = newFingerprint()
    const res = await client.request('POST', '/licenses/activate', { json: { key: license.key, fingerprint } })
    assert.equal(res.status, 201, res.text)
    return { id: license.id, key: license.key, fingerprint, activationId: res.body.activation_id as string }
  }

  it('is served through the gateway as OpenAPI 3.1 with every license route, its bodies, answers and problem codes', async () => {
    const res = await client.request('GET', '/licenses/openapi.json')
    assert.equal(res.status, 200, res.text)
    doc = res.body
    assert.equal(doc.openapi, '3.1.0')
    assert.equal(doc.servers[0].url, 'https://localhost:8443')
    const routes = operationsOf(doc).map((op) => `${op.method} ${op.path}`)
    for (const route of [
      'POST /licenses', 'GET /licenses', 'PUT /licenses/resellers/{user_id}/quota', 'GET /licenses/{id}', 'POST /licenses/activate',
      'POST /licenses/validate', 'DELETE /licenses/{id}/machines/{activation_id}', 'POST /licenses/{id}/revoke',
      'POST /licenses/{id}/reissue-key', 'POST /licenses/{id}/clear-abuse', 'GET /licenses/.well-known/jwks.json', 'GET /licenses/openapi.json',
    ]) assert.ok(routes.includes(route), `${route} documented`)
    const activate = doc.paths['/licenses/activate'].post
    assert.deepEqual(activate.requestBody.content['application/json'].schema.required, ['key', 'fingerprint'])
    assert.equal(activate.requestBody.content['application/json'].schema.additionalProperties, false)
    assert.ok(activate.responses['200'] && activate.responses['201'], 'activate documents 201 and 200')
    assert.deepEqual(activate.responses['409'].content['application/problem+json'].schema.allOf[1].properties.code.enum, ['machine_limit_reached'])
    assertProblemsMatchCatalogue(doc)
  })

  it('when each documented operation is called wrongly (no token, wrong role, bad bodies, bad ids), every answer is documented', async () => {
    const user = await userWithRoles(stack, ['user'])
    for (const op of operationsOf(doc)) {
      const probes: [string, { token?: string; ids?: string; json?: unknown; body?: string; query?: string }][] = [
        ['anonymous, empty object', { json: op.requestBody ? {} : undefined }],
        ['anonymous, malformed JSON', { body: '{"key": ' }],
        ['user, empty object', { token: user.accessToken, json: op.requestBody ? {} : undefined }],
        ['user, unknown field', { token: user.accessToken, json: { unexpected: true }, query: '?unexpected=1' }],
        ['admin, unknown field', { token: admin.accessToken, json: { unexpected: true }, query: '?unexpected=1' }],
        ['admin, not an id', { token: admin.accessToken, ids: 'not-an-id', json: { unexpected: true } }],
        ['a forged token', { token: 'eyJhbGciOiJFUzI1NiJ9.e30.AAAA', json: op.requestBody ? {} : undefined }],
      ]
      for (const [what, opts] of op.method === 'GET' ? probes.filter(([w]) => w !== 'anonymous, malformed JSON') : probes) {
        assertDocumented(op, await call(op, opts), what)
      }
    }
  })

  it('when each documented operation is called as documented, it answers its documented success', async () => {
    const examples: Record<string, () => Promise<JsonResponse[]>> = {
      jwks: async () => [await client.request('GET', '/licenses/.well-known/jwks.json')],
      openApi: async () => [await client.request('GET', '/licenses/openapi.json')],
      activate: async () => {
        const license = await issueLicense(client, reseller.accessToken)
        const body = { key: license.key, fingerprint: newFingerprint(), machine_name: 'build box', platform: 'linux' }
        return [await client.request('POST', '/licenses/activate', { json: body }), await client.request('POST', '/licenses/activate', { json: body })]
      },
      validate: async () => {
        const license = await activated()
        return [
          await client.request('POST', '/licenses/validate', { json: { key: license.key, fingerprint: license.fingerprint } }),
          await client.request('POST', '/licenses/validate', { json: { key: license.key, fingerprint: newFingerprint() } }),
        ]
      },
      issue: async () => [await client.request('POST', '/licenses', { token: reseller.accessToken, json: { product: 'editor-pro', max_machines: 2, entitlements: ['export'] } })],
      list: async () => [await client.request('GET', '/licenses?limit=5', { token: reseller.accessToken })],
      setQuota: async () => [await client.request('PUT', `/licenses/resellers/${reseller.id}/quota`, { token: admin.accessToken, json: { quota: 500 } })],
      get: async () => [await client.request('GET', `/licenses/${(await activated()).id}`, { token: reseller.accessToken })],
      deactivateMachine: async () => {
        const license = await activated()
        return [await client.request('DELETE', `/licenses/${license.id}/machines/${license.activationId}`, { token: reseller.accessToken })]
      },
      revoke: async () => [await client.request('POST', `/licenses/${(await activated()).id}/revoke`, { token: reseller.accessToken, json: {} })],
      reissueKey: async () => [await client.request('POST', `/licenses/${(await activated()).id}/reissue-key`, { token: reseller.accessToken })],
      clearAbuse: async () => [await client.request('POST', `/licenses/${(await activated()).id}/clear-abuse`, { token: admin.accessToken, json: {} })],
    }
    const operations = operationsOf(doc)
    assert.deepEqual(operations.map((op) => op.operationId).sort(), Object.keys(examples).sort(), 'an example for every documented operation')
    for (const id of Object.keys(examples)) {
      const op = operations.find((o) => o.operationId === id)!
      for (const res of await examples[id]!()) {
        assert.ok(res.status < 300, `${id}: ${res.status} ${res.text}`)
        assertDocumented(op, res, 'valid call')
      }
    }
  })
})

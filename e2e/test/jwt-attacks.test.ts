import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { forgeAttackTokens, signWith } from '@platform/testkit/forge-tokens'
import { assertProblem, closedPort, RELAXED_RATE_LIMITS } from '../src/http-fixtures.ts'
import { registerAndLogin, startStack, type Stack } from '../src/stack.ts'

/**
 * Every forged token must die at the gateway. `/licenses` proves it: no license service runs
 * (LICENSE_URL is a closed port), so a request the gateway let through would get its 503
 * `service_unavailable`, while a token the gateway refused gets 401 from the gateway itself.
 */
const ATTACKS = [
  'alg_none',
  'hs256_with_public_key',
  'hs256_with_public_key_der',
  'unknown_kid',
  'foreign_key_known_kid',
  'tampered_payload',
  'typ_not_string',
  'expired',
  'wrong_aud',
  'wrong_iss',
  'wrong_typ',
  'missing_exp',
  'not_yet_valid',
] as const

const ROUTES = ['/auth/me', '/licenses'] as const

describe('gateway: forged and malformed bearer tokens', () => {
  let stack: Stack
  let valid: string
  let attacks: Record<string, string>

  before(async () => {
    stack = await startStack({ LICENSE_URL: `http://127.0.0.1:${await closedPort()}`, RATE_LIMITS: RELAXED_RATE_LIMITS })
    valid = (await registerAndLogin(stack.client)).accessToken
    const key = stack.platform.auth.deps.keys.active()
    attacks = forgeAttackTokens({
      valid,
      publicJwk: key.publicJwk,
      issuer: stack.platform.auth.deps.tokens.issuer,
      audience: stack.platform.auth.deps.tokens.audience,
      sign: (header, payload) => signWith(key.privateKey, header, payload),
    })
  })
  after(() => stack.stop())

  it('when the forge is handed the real key, it builds every attack this suite names', () => {
    assert.deepEqual(Object.keys(attacks).sort(), [...ATTACKS].sort())
  })

  it('when the token is valid, the gateway lets it through: /auth/me answers 200 and /licenses reaches the (absent) upstream', async () => {
    const me = await stack.client.request('GET', '/auth/me', { token: valid })
    const licenses = await stack.client.request('GET', '/licenses', { token: valid })

    assert.equal(me.status, 200, me.text)
    assertProblem(licenses, 503, 'service_unavailable')
    assert.equal(licenses.headers.get('www-authenticate'), null)
  })

  for (const route of ROUTES) {
    for (const name of ATTACKS) {
      const code = name === 'expired' ? 'token_expired' : 'invalid_token'
      it(`when GET ${route} carries the ${name} token, the gateway answers 401 ${code} with WWW-Authenticate`, async () => {
        const token = attacks[name]
        assert.ok(token, `attack ${name} was built`)

        const res = await stack.client.request('GET', route, { token })

        assertProblem(res, 401, code, name)
        assert.equal(res.headers.get('www-authenticate'), 'Bearer error="invalid_token"', name)
      })
    }
  }

  for (const route of ROUTES) {
    for (const [label, header] of [
      ['random characters', 'Bearer this-is-not-a-jwt'],
      ['three garbage segments', 'Bearer aaaa.bbbb.cccc'],
      ['characters outside the token68 alphabet', 'Bearer {"alg":"none"}'],
      ['two tokens', 'Bearer a.b.c d.e.f'],
    ] as const) {
      it(`when GET ${route} carries a Bearer header with ${label}, the gateway answers 401 invalid_token`, async () => {
        const res = await stack.client.request('GET', route, { headers: { authorization: header } })

        assertProblem(res, 401, 'invalid_token', label)
        assert.equal(res.headers.get('www-authenticate'), 'Bearer error="invalid_token"')
      })
    }
  }

  it('when a token has no exp, even correctly signed, the gateway refuses it on a route it proxies', async () => {
    const token = attacks.missing_exp!
    const [, payload] = token.split('.')
    assert.equal('exp' in JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')), false)

    const res = await stack.client.request('GET', '/licenses', { token })

    assertProblem(res, 401, 'invalid_token')
  })
})

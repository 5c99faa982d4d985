import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { JsonResponse, TestClient } from '@platform/testkit'
import { cookieAttributes, cookieValue, ownClient, registerUser, setCookie, setCookies } from '../src/auth-fixtures.ts'
import { assertProblem, RELAXED_RATE_LIMITS } from '../src/http-fixtures.ts'
import { GOOD_PASSWORD, startStack, type Stack } from '../src/stack.ts'

// Browser clients (CONTRACT §4): the refresh token lives in an HttpOnly cookie scoped to /auth,
// and a cookie refresh needs the double-submit CSRF token and an allowed Origin.

const APP_ORIGIN = 'https://app.example.com'
const PUBLIC_ORIGIN = 'https://localhost:8443'
const REFRESH = '__Secure-refresh_token'
const CSRF = '__Host-csrf'
const THIRTY_DAYS_S = 2_592_000

/** A browser's cookie jar for this site, reduced to the two cookies that matter. */
type Jar = { refresh: string; csrf: string }

async function browserLogin(client: TestClient, email: string): Promise<{ res: JsonResponse; jar: Jar }> {
  const res = await client.request('POST', '/auth/login', { json: { email, password: GOOD_PASSWORD, token_delivery: 'cookie' }, headers: { origin: APP_ORIGIN } })
  assert.equal(res.status, 200, res.text)
  return { res, jar: { refresh: cookieValue(setCookie(res, REFRESH)), csrf: cookieValue(setCookie(res, CSRF)) } }
}

function cookieRefresh(client: TestClient, jar: Jar, opts: { csrf?: string | null; origin?: string | null; body?: string } = {}) {
  const headers: Record<string, string> = { cookie: `${REFRESH}=${jar.refresh}; ${CSRF}=${jar.csrf}`, 'content-type': 'application/json' }
  const csrf = opts.csrf === undefined ? jar.csrf : opts.csrf
  const origin = opts.origin === undefined ? APP_ORIGIN : opts.origin
  if (csrf !== null) headers['x-csrf-token'] = csrf
  if (origin !== null) headers.origin = origin
  return client.request('POST', '/auth/refresh', { headers, body: opts.body ?? '' })
}

/** The jar after a browser applied the answer's cookies. */
function applied(jar: Jar, res: JsonResponse): Jar {
  return { refresh: cookieValue(setCookie(res, REFRESH)), csrf: res.headers.get('set-cookie')?.includes(`${CSRF}=`) ? cookieValue(setCookie(res, CSRF)) : jar.csrf }
}

describe('cookie mode (token_delivery: "cookie")', () => {
  let stack: Stack
  before(async () => {
    stack = await startStack({ RATE_LIMITS: RELAXED_RATE_LIMITS, CORS_ORIGINS: APP_ORIGIN })
  })
  after(() => stack.stop())

  it('when a browser logs in, sets the refresh cookie and the CSRF cookie with exactly the contract attributes', async (t) => {
    // Arrange
    const client = ownClient(t, stack)
    const user = await registerUser(client)

    // Act
    const { res, jar } = await browserLogin(client, user.email)

    // Assert
    assert.equal(setCookies(res).length, 2, JSON.stringify(setCookies(res)))
    const refresh = setCookie(res, REFRESH)
    const csrf = setCookie(res, CSRF)
    assert.deepEqual(cookieAttributes(refresh).sort(), ['HttpOnly', `Max-Age=${THIRTY_DAYS_S}`, 'Path=/auth', 'SameSite=Strict', 'Secure'])
    assert.deepEqual(cookieAttributes(csrf).sort(), [`Max-Age=${THIRTY_DAYS_S}`, 'Path=/', 'SameSite=Strict', 'Secure'], '__Host-: no Domain, Path=/, readable by script')
    for (const line of [refresh, csrf]) {
      const expires = Date.parse(/Expires=([^;]+)/.exec(line)?.[1] ?? '')
      assert.ok(Math.abs(expires - (Date.now() + THIRTY_DAYS_S * 1000)) < 60_000, `Expires about 30 days ahead: ${line}`)
    }
    assert.ok(jar.refresh.length >= 43, 'a 256-bit refresh token')
    assert.equal(res.body.csrf_token, jar.csrf, 'the CSRF token is also in the body')
    assert.ok(!('refresh_token' in res.body), 'no refresh token in the body')
    assert.deepEqual(Object.keys(res.body).sort(), ['access_token', 'csrf_token', 'expires_in', 'token_type'])
    assert.equal(res.headers.get('access-control-allow-origin'), APP_ORIGIN)
    assert.equal(res.headers.get('access-control-allow-credentials'), 'true')
  })

  it('when the refresh cookie comes with the CSRF header and an allowed Origin, rotates it (CORS_ORIGINS or PUBLIC_URL)', async (t) => {
    // Arrange
    const client = ownClient(t, stack)
    const { jar } = await browserLogin(client, (await registerUser(client)).email)

    // Act
    const first = await cookieRefresh(client, jar)
    const second = await cookieRefresh(client, applied(jar, first), { origin: PUBLIC_ORIGIN, body: '{}' })

    // Assert
    for (const res of [first, second]) {
      assert.equal(res.status, 200, res.text)
      assert.deepEqual(Object.keys(res.body).sort(), ['access_token', 'csrf_token', 'expires_in', 'token_type'])
      assert.equal(res.body.csrf_token, cookieValue(setCookie(res, CSRF)))
      assert.deepEqual(cookieAttributes(setCookie(res, REFRESH)).sort(), ['HttpOnly', `Max-Age=${THIRTY_DAYS_S}`, 'Path=/auth', 'SameSite=Strict', 'Secure'])
    }
    assert.notEqual(cookieValue(setCookie(first, REFRESH)), jar.refresh, 'rotated')
    assert.equal((await client.request('GET', '/auth/me', { token: second.body.access_token })).status, 200)
  })

  it('when the CSRF header is missing or wrong, or the Origin is missing or not allowed, answers 403 csrf_failed and rotates nothing', async (t) => {
    // Arrange
    const client = ownClient(t, stack)
    const { jar } = await browserLogin(client, (await registerUser(client)).email)

    // Act + Assert
    for (const [what, opts] of [
      ['no X-CSRF-Token', { csrf: null }],
      ['a wrong X-CSRF-Token', { csrf: 'x'.repeat(43) }],
      ['an empty X-CSRF-Token', { csrf: '' }],
      ['no Origin', { origin: null }],
      ['a foreign Origin', { origin: 'https://evil.example' }],
      ['a look-alike Origin', { origin: `${APP_ORIGIN}.evil.example` }],
      ['the right host over http', { origin: 'http://app.example.com' }],
    ] as const) {
      const res = await cookieRefresh(client, jar, opts)
      assertProblem(res, 403, 'csrf_failed', what)
      assert.equal(setCookies(res).length, 0, `${what}: no cookie set`)
    }
    const foreign = await cookieRefresh(client, jar, { origin: 'https://evil.example' })
    assert.equal(foreign.headers.get('access-control-allow-origin'), null, 'no CORS grant for a foreign origin')
    assert.equal((await cookieRefresh(client, jar)).status, 200, 'the cookie was not spent by the refused attempts')
  })

  it('when two tabs refresh with the same cookie at once, both succeed and the session keeps one lineage', async (t) => {
    // Arrange
    const client = ownClient(t, stack)
    const { jar } = await browserLogin(client, (await registerUser(client)).email)

    // Act
    const [tabA, tabB] = await Promise.all([cookieRefresh(client, jar), cookieRefresh(client, jar)])

    // Assert
    assert.equal(tabA.status, 200, tabA.text)
    assert.equal(tabB.status, 200, tabB.text)
    const successor = cookieValue(setCookie(tabA, REFRESH))
    assert.equal(cookieValue(setCookie(tabB, REFRESH)), successor, 'both tabs got the same successor')
    const jarAfter = applied(jar, tabB)
    const next = await cookieRefresh(client, jarAfter)
    assert.equal(next.status, 200, `the shared successor rotates on: ${next.text}`)
    for (const res of [tabA, tabB, next]) assert.equal((await client.request('GET', '/auth/me', { token: res.body.access_token })).status, 200)
    const sessions = await client.request('GET', '/auth/sessions', { token: next.body.access_token })
    assert.equal(sessions.body.items.length, 1, 'one session')
  })

  it('when the browser logs out, both cookies are cleared with Max-Age=0 and the refresh cookie is dead', async (t) => {
    // Arrange
    const client = ownClient(t, stack)
    const { res: login, jar } = await browserLogin(client, (await registerUser(client)).email)

    // Act
    const res = await client.request('POST', '/auth/logout', { token: login.body.access_token, headers: { cookie: `${REFRESH}=${jar.refresh}; ${CSRF}=${jar.csrf}` } })

    // Assert
    assert.equal(res.status, 204, res.text)
    const refresh = setCookie(res, REFRESH)
    const csrf = setCookie(res, CSRF)
    assert.equal(cookieValue(refresh), '')
    assert.equal(cookieValue(csrf), '')
    assert.ok(cookieAttributes(refresh).includes('Max-Age=0') && cookieAttributes(refresh).includes('Path=/auth'), refresh)
    assert.ok(cookieAttributes(csrf).includes('Max-Age=0') && cookieAttributes(csrf).includes('Path=/'), csrf)
    assertProblem(await cookieRefresh(client, jar), 401, 'invalid_token', 'the old refresh cookie')
  })
})

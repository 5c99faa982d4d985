import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it, type TestContext } from 'node:test'
import type { JsonResponse, TestClient } from '@platform/testkit'
import { assertProblem } from '../src/http-fixtures.ts'
import { clientFrom, GOOD_PASSWORD, startStack, uniqueEmail, type Stack } from '../src/stack.ts'

// Every test talks from its own loopback address (a client IP of its own at the gateway), so the
// per-IP budgets of one test never leak into another; the stacks use the default limits.

/** The items of a structured-field list header (`"name";a=1;b=2, ...`), by policy name. */
function items(header: string | null): Map<string, Record<string, number>> {
  const found = new Map<string, Record<string, number>>()
  for (const item of (header ?? '').split(',').map((part) => part.trim()).filter(Boolean)) {
    const [name, ...params] = item.split(';')
    const values = Object.fromEntries(params.map((param) => param.split('=')).map(([key, value]) => [key!.trim(), Number(value)]))
    found.set(JSON.parse(name!.trim()) as string, values)
  }
  return found
}

/** Asserts the answer announces `policy` with its limit, window and the requests left. */
function assertAnnounces(res: JsonResponse, policy: string, expected: { q: number; w: number; r: number }, message: string): void {
  const declared = items(res.headers.get('ratelimit-policy')).get(policy)
  assert.deepEqual(declared, { q: expected.q, w: expected.w }, `${message}: RateLimit-Policy for ${policy} (${res.headers.get('ratelimit-policy')})`)
  const state = items(res.headers.get('ratelimit')).get(policy)
  assert.ok(state, `${message}: RateLimit for ${policy} (${res.headers.get('ratelimit')})`)
  assert.equal(state.r, expected.r, `${message}: requests left under ${policy} (${res.headers.get('ratelimit')})`)
  const resetS = state.t ?? Number.NaN
  assert.ok(Number.isInteger(resetS) && resetS > 0 && resetS <= expected.w, `${message}: reset of ${policy} (${res.headers.get('ratelimit')})`)
}

/** Asserts a 429 for `policy` with an integer Retry-After within the window. */
function assertRateLimited(res: JsonResponse, policy: string, expected: { q: number; w: number }, message: string): void {
  assertProblem(res, 429, 'rate_limited', message)
  const retryAfter = res.headers.get('retry-after') ?? ''
  assert.match(retryAfter, /^\d+$/, `${message}: Retry-After is integer seconds`)
  assert.ok(Number(retryAfter) > 0 && Number(retryAfter) <= expected.w, `${message}: Retry-After ${retryAfter} within the window`)
  assertAnnounces(res, policy, { ...expected, r: 0 }, message)
}

/** A random address from 198.18.0.0/15 (benchmarking range), as a forwarded client address. */
function randomIp(): string {
  const [a, b, c] = randomBytes(3)
  return `198.${18 + (a! % 2)}.${b}.${c! % 254 + 1}`
}

const loginAttempt = (client: TestClient, email: string, opts: { path?: string; forwardedFor?: string; password?: string } = {}) =>
  client.request('POST', opts.path ?? '/auth/login', {
    json: { email, password: opts.password ?? 'not the password of anyone' },
    headers: opts.forwardedFor ? { 'x-forwarded-for': opts.forwardedFor } : {},
  })

function useStack(env: NodeJS.ProcessEnv = {}) {
  const ref: { stack?: Stack; client(t: TestContext): TestClient } = {
    client(t) {
      const client = clientFrom(ref.stack!)
      t.after(() => client.close())
      return client
    },
  }
  before(async () => {
    ref.stack = await startStack(env)
  })
  after(() => ref.stack?.stop())
  return ref
}

const LOGIN = { q: 5, w: 60 }

describe('rate limits', () => {
  const stack = useStack()

  it('when a client sends a 6th login within a minute, answers 429 rate_limited with Retry-After and RateLimit headers', async (t) => {
    // Arrange
    const client = stack.client(t)
    const earlier: JsonResponse[] = []
    for (let i = 0; i < 5; i++) earlier.push(await loginAttempt(client, uniqueEmail()))

    // Act
    const sixth = await loginAttempt(client, uniqueEmail())

    // Assert
    earlier.forEach((res, i) => {
      assertProblem(res, 401, 'invalid_credentials', `login ${i + 1}`)
      assertAnnounces(res, 'login_ip', { ...LOGIN, r: 4 - i }, `login ${i + 1}`)
    })
    assertRateLimited(sixth, 'login_ip', LOGIN, '6th login')
  })

  it('when a client spoofs a new X-Forwarded-For on every login, it still meets the limit (TRUST_PROXY=0)', async (t) => {
    // Arrange
    const client = stack.client(t)
    for (let i = 0; i < 5; i++) {
      const res = await loginAttempt(client, uniqueEmail(), { forwardedFor: randomIp() })
      assertProblem(res, 401, 'invalid_credentials', `login ${i + 1}`)
    }

    // Act
    const sixth = await loginAttempt(client, uniqueEmail(), { forwardedFor: randomIp() })

    // Assert
    assertRateLimited(sixth, 'login_ip', LOGIN, '6th login with a spoofed X-Forwarded-For')
  })

  it('when the login path is spelled with other case or a trailing slash, the same login policy counts it', async (t) => {
    // Arrange
    const client = stack.client(t)
    const spellings = ['/auth/login', '/Auth/Login/', '/AUTH/LOGIN', '/auth/login/', '/Auth/login']
    for (const path of spellings) assertProblem(await loginAttempt(client, uniqueEmail(), { path }), 401, 'invalid_credentials', path)

    // Act
    const sixth = await loginAttempt(client, uniqueEmail(), { path: '/Auth/Login/' })

    // Assert
    assertRateLimited(sixth, 'login_ip', LOGIN, '6th login as /Auth/Login/')
  })

  it('when a client registers a 6th account within an hour, answers 429 rate_limited', async (t) => {
    // Arrange
    const client = stack.client(t)
    for (let i = 0; i < 5; i++) {
      const res = await client.request('POST', '/auth/register', { json: { email: uniqueEmail(), password: GOOD_PASSWORD } })
      assert.equal(res.status, 201, `registration ${i + 1}: ${res.text}`)
    }

    // Act
    const sixth = await client.request('POST', '/auth/register', { json: { email: uniqueEmail(), password: GOOD_PASSWORD } })

    // Assert
    assertRateLimited(sixth, 'register_ip', { q: 5, w: 3600 }, '6th registration')
  })
})

describe('rate limits behind one trusted proxy (TRUST_PROXY=1)', () => {
  const stack = useStack({ TRUST_PROXY: '1' })

  it('when X-Forwarded-For names another address, the request counts as another client', async (t) => {
    // Arrange
    const client = stack.client(t)
    const first = randomIp()
    for (let i = 0; i < 5; i++) assertProblem(await loginAttempt(client, uniqueEmail(), { forwardedFor: first }), 401, 'invalid_credentials', `login ${i + 1}`)

    // Act
    const sameClient = await loginAttempt(client, uniqueEmail(), { forwardedFor: first })
    const otherClient = await loginAttempt(client, uniqueEmail(), { forwardedFor: randomIp() })

    // Assert
    assertRateLimited(sameClient, 'login_ip', LOGIN, '6th login from the same forwarded address')
    assertProblem(otherClient, 401, 'invalid_credentials', 'login from another forwarded address')
    assertAnnounces(otherClient, 'login_ip', { ...LOGIN, r: 4 }, 'login from another forwarded address')
  })

  it('when one e-mail is tried from many addresses, login_email stops the 6th attempt whatever its case or spaces', async (t) => {
    // Arrange
    const client = stack.client(t)
    const email = uniqueEmail('target')
    const variants = [email, email.toUpperCase(), `  ${email}`, `${email.replace(/^t/, 'T')}\t`, ` ${email.toUpperCase()} `]
    for (const variant of variants) {
      assertProblem(await loginAttempt(client, variant, { forwardedFor: randomIp() }), 401, 'invalid_credentials', JSON.stringify(variant))
    }

    // Act
    const sixth = await loginAttempt(client, `${email.toUpperCase()} `, { forwardedFor: randomIp() })

    // Assert
    assertRateLimited(sixth, 'login_email', LOGIN, '6th attempt at one e-mail from a 6th address')
  })
})

describe('rate limits with a RATE_LIMITS override', () => {
  const stack = useStack({ RATE_LIMITS: JSON.stringify({ login_ip: { limit: 2, window_s: 30 } }) })

  it('when login_ip is lowered to 2 per 30 s, the 3rd login answers 429 and the other policies keep their defaults', async (t) => {
    // Arrange
    const client = stack.client(t)
    const earlier = [await loginAttempt(client, uniqueEmail()), await loginAttempt(client, uniqueEmail())]

    // Act
    const third = await loginAttempt(client, uniqueEmail())

    // Assert
    earlier.forEach((res, i) => {
      assertProblem(res, 401, 'invalid_credentials', `login ${i + 1}`)
      assertAnnounces(res, 'login_ip', { q: 2, w: 30, r: 1 - i }, `login ${i + 1}`)
      assertAnnounces(res, 'login_email', { ...LOGIN, r: 4 }, `login ${i + 1}`)
    })
    assertRateLimited(third, 'login_ip', { q: 2, w: 30 }, '3rd login')
  })
})

describe('rate limits for bad tokens', () => {
  const stack = useStack({ RATE_LIMITS: JSON.stringify({ anonymous: { limit: 3, window_s: 60 } }) })

  it('when a client keeps sending forged tokens, they spend its anonymous budget and the 4th answers 429', async (t) => {
    // Arrange
    const client = stack.client(t)
    const forged = 'eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6IngifQ.eyJzdWIiOiJ4In0.c2ln'
    const earlier: JsonResponse[] = []
    for (let i = 0; i < 3; i++) earlier.push(await client.request('GET', '/auth/me', { token: forged }))

    // Act
    const fourth = await client.request('GET', '/auth/me', { token: forged })

    // Assert
    earlier.forEach((res, i) => assertProblem(res, 401, 'invalid_token', `forged token ${i + 1}`))
    assertRateLimited(fourth, 'anonymous', { q: 3, w: 60 }, '4th forged token')
  })

  it('when the scheme is written in lower case, the token is still accepted (RFC 7235)', async (t) => {
    // Arrange
    const client = stack.client(t)
    const email = uniqueEmail()
    await client.request('POST', '/auth/register', { json: { email, password: GOOD_PASSWORD } })
    const login = await client.request('POST', '/auth/login', { json: { email, password: GOOD_PASSWORD } })

    // Act
    const me = await client.request('GET', '/auth/me', { headers: { authorization: `bearer ${login.body.access_token}` } })

    // Assert
    assert.equal(me.status, 200, me.text)
  })
})

describe('rate limits configuration', () => {
  it('when RATE_LIMITS names an unknown policy, startStack fails with a ConfigError naming RATE_LIMITS', async () => {
    // Arrange
    const env = { RATE_LIMITS: JSON.stringify({ login_everything: { limit: 1, window_s: 60 } }) }

    // Act
    const starting = startStack(env)

    // Assert
    await assert.rejects(starting, (error: Error) => {
      assert.equal(error.name, 'ConfigError')
      assert.match(error.message, /^RATE_LIMITS\b/)
      return true
    })
  })
})

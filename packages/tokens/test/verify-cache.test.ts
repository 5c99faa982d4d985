import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { generateSigningKey, signAccessToken, TokenError, verifyAccessToken } from '../src/index.ts'
import { cachedVerifier } from '../src/verify-cache.ts'

const key = generateSigningKey()
const issue = (ttlSeconds = 60, issuedAt?: number) =>
  signAccessToken({ key, issuer: 'https://iss', audience: 'aud', ttlSeconds, subject: 'u1', sessionId: 's1', roles: ['user'], emailVerified: false, issuedAt }).token

function counting(now: () => number) {
  let calls = 0
  const verify = (token: string) => {
    calls++
    return verifyAccessToken(token, { resolveKey: (kid) => (kid === key.kid ? key.publicKey : undefined), issuer: 'https://iss', audience: 'aud', now })
  }
  return { verify, calls: () => calls }
}

describe('cachedVerifier', () => {
  it('when the same good token comes again, verifies its signature once', async () => {
    const inner = counting(Date.now)
    const check = cachedVerifier({ verify: inner.verify, issuer: 'https://iss', audience: 'aud' })
    const token = issue()

    const first = await check(token)
    const second = await check(token)

    assert.equal(inner.calls(), 1)
    assert.deepEqual(second, first)
  })

  it('when a token fails, never caches it: every attempt is checked in full', async () => {
    const inner = counting(Date.now)
    const check = cachedVerifier({ verify: inner.verify, issuer: 'https://iss', audience: 'aud' })
    const tampered = `${issue().slice(0, -4)}AAAA`

    await assert.rejects(check(tampered), TokenError)
    await assert.rejects(check(tampered), TokenError)

    assert.equal(inner.calls(), 2)
  })

  it('when a cached token has expired, checks it again and reports token_expired', async () => {
    let clock = Date.now()
    const inner = counting(() => clock)
    const check = cachedVerifier({ verify: inner.verify, issuer: 'https://iss', audience: 'aud', now: () => clock })
    const token = issue(60)
    await check(token)

    clock += 120_000

    await assert.rejects(check(token), (error: unknown) => error instanceof TokenError && error.code === 'token_expired')
    assert.equal(inner.calls(), 2)
  })

  it('when full, drops the oldest entry first', async () => {
    const inner = counting(Date.now)
    const check = cachedVerifier({ verify: inner.verify, issuer: 'https://iss', audience: 'aud', maxEntries: 2 })
    const now = Math.floor(Date.now() / 1000)
    const [a, b, c] = [issue(60, now), issue(61, now), issue(62, now)]

    for (const token of [a, b, c, c, b, a]) await check(token)

    assert.equal(inner.calls(), 4)
  })
})

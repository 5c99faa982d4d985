import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createRedisKv, type Kv } from '@platform/kv'
import { hasRedisServer, startPrivateRedis, waitUntil, type PrivateRedis } from '@platform/testkit'
import { RELAXED_RATE_LIMITS } from '../src/http-fixtures.ts'
import { issueLicense, newFingerprint, userWithRoles, type TestUser } from '../src/license-fixtures.ts'
import { startStack, type Stack } from '../src/stack.ts'

// Revoked licenses are cached in Redis as validation's fast negative path; PostgreSQL stays the
// record. These tests flush Redis, so they run on a redis-server of their own.
const haveRedis = hasRedisServer()
if (!haveRedis && process.env.REQUIRE_INFRA === '1') throw new Error('REQUIRE_INFRA=1 but there is no redis-server on PATH')

describe('license revocation with the Redis negative cache', { skip: haveRedis ? false : 'no redis-server on PATH' }, () => {
  let redis: PrivateRedis
  let stack: Stack
  let kv: Kv
  let reseller: TestUser
  before(async () => {
    redis = await startPrivateRedis()
    stack = await startStack({ REDIS_URL: redis.url, RATE_LIMITS: RELAXED_RATE_LIMITS })
    kv = createRedisKv({ url: redis.url, prefix: stack.env.REDIS_PREFIX })
    reseller = await userWithRoles(stack, ['reseller'])
  })
  after(async () => {
    await kv?.close()
    await stack?.stop()
    await redis?.close()
  })

  const validate = (body: Record<string, unknown>) => stack.client.request('POST', '/licenses/validate', { json: body })

  /** A license with one activated machine, and that machine's license token. */
  async function activatedLicense() {
    // After a flush or restart of Redis, bearer requests answer 503 until auth restored its revocation lists.
    await waitUntil(async () => (await stack.client.request('GET', '/licenses?limit=1', { token: reseller.accessToken })).status === 200, {
      timeoutMs: 10_000,
      intervalMs: 100,
      what: 'bearer requests served again',
    })
    const license = await issueLicense(stack.client, reseller.accessToken)
    const fingerprint = newFingerprint()
    const activation = await stack.client.request('POST', '/licenses/activate', { json: { key: license.key, fingerprint } })
    assert.equal(activation.status, 201, activation.text)
    return { ...license, fingerprint, licenseToken: activation.body.license_token as string }
  }

  it('when a license is revoked, the very next validation says REVOKED, by key and by token, and Redis holds the revocation', async () => {
    // Arrange
    const license = await activatedLicense()
    assert.equal((await validate({ key: license.key, fingerprint: license.fingerprint })).body.code, 'VALID')

    // Act
    const revoked = await stack.client.request('POST', `/licenses/${license.id}/revoke`, { token: reseller.accessToken })

    // Assert
    assert.equal(revoked.status, 200, revoked.text)
    const byKey = await validate({ key: license.key, fingerprint: license.fingerprint })
    const byToken = await validate({ license_token: license.licenseToken })
    for (const res of [byKey, byToken]) {
      assert.equal(res.status, 200, res.text)
      assert.deepEqual({ valid: res.body.valid, code: res.body.code, license_id: res.body.license_id }, { valid: false, code: 'REVOKED', license_id: license.id })
      assert.equal(res.body.license_token, undefined)
    }
    assert.ok(await kv.get(`license:revoked:id:${license.id}`), 'the revocation is in Redis')
  })

  it('when Redis loses every key, a revoked license still validates as REVOKED, and Redis learns it again', async () => {
    // Arrange
    const license = await activatedLicense()
    const revoked = await stack.client.request('POST', `/licenses/${license.id}/revoke`, { token: reseller.accessToken })
    assert.equal(revoked.status, 200, revoked.text)

    const other = await activatedLicense()

    // Act
    await redis.flushAll()

    // Assert
    assert.equal(await kv.get(`license:revoked:id:${license.id}`), null, 'flushed')
    const byToken = await validate({ license_token: license.licenseToken })
    const byKey = await validate({ key: license.key, fingerprint: license.fingerprint })
    assert.equal(byToken.body.code, 'REVOKED', byToken.text)
    assert.equal(byKey.body.code, 'REVOKED', byKey.text)
    assert.ok(await kv.get(`license:revoked:id:${license.id}`), 'the PostgreSQL answer was written back')
    assert.equal((await validate({ key: other.key, fingerprint: other.fingerprint })).body.code, 'VALID', 'a live license is not affected')
  })

  it('when Redis is down, validation still answers from PostgreSQL: REVOKED for a revoked license, never VALID', async (t) => {
    // Arrange
    const license = await activatedLicense()
    assert.equal((await stack.client.request('POST', `/licenses/${license.id}/revoke`, { token: reseller.accessToken })).status, 200)
    let down = true
    t.after(async () => {
      if (down) await redis.start()
    })

    // Act
    await redis.stop()
    const res = await validate({ key: license.key, fingerprint: license.fingerprint })

    // Assert: the gateway itself needs Redis for anonymous rate limits only, which fail open.
    assert.equal(res.status, 200, res.text)
    assert.equal(res.body.code, 'REVOKED')
    await redis.start()
    down = false
  })

  it('when the revoked licenses are seeded (as the service does at start), Redis holds every revocation PostgreSQL has', async () => {
    // Arrange
    const license = await activatedLicense()
    assert.equal((await stack.client.request('POST', `/licenses/${license.id}/revoke`, { token: reseller.accessToken })).status, 200)
    await redis.flushAll()

    // Act
    const seeded = await stack.platform.license.deps.revokedLicenses.seed()

    // Assert
    assert.ok(seeded >= 1, `seeded ${seeded}`)
    assert.ok(await kv.get(`license:revoked:id:${license.id}`))
  })
})

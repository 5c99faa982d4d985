import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { describe, it } from 'node:test'
import {
  createJwksClient,
  generateSigningKey,
  toJwks,
  type Jwks,
  type SigningKey,
} from '../src/index.ts'

const MIN_REFRESH_MS = 5000

/**
 * A JWKS source the test controls: a real function serving a real key set, counting its calls.
 * `failing` makes it reject the way an unreachable auth service would.
 */
function createJwksSource(initial: SigningKey[]) {
  const source = {
    keys: [...initial],
    failing: false,
    calls: 0,
    fetchJwks: async (): Promise<Jwks> => {
      source.calls += 1
      if (source.failing) throw new Error('connect ECONNREFUSED 127.0.0.1:4001')
      return toJwks(source.keys)
    },
  }
  return source
}

function createClock(startMs = 1_700_000_000_000) {
  const clock = { ms: startMs, now: () => clock.ms }
  return clock
}

describe('createJwksClient', () => {
  it('when the kid is published, resolves the public key of that kid', async () => {
    // Arrange
    const key = generateSigningKey()
    const source = createJwksSource([key])
    const client = createJwksClient({ fetchJwks: source.fetchJwks, minRefreshMs: MIN_REFRESH_MS })

    // Act
    const resolved = await client.resolveKey(key.kid)

    // Assert
    assert.ok(resolved)
    assert.equal(resolved.type, 'public')
    assert.ok(resolved.equals(key.publicKey))
  })

  it('when the kid is known from an earlier refresh, resolves it without fetching again', async () => {
    // Arrange
    const key = generateSigningKey()
    const source = createJwksSource([key])
    const clock = createClock()
    const client = createJwksClient({ fetchJwks: source.fetchJwks, now: clock.now })
    await client.refresh()

    // Act
    clock.ms += 10 * MIN_REFRESH_MS
    const resolved = await client.resolveKey(key.kid)

    // Assert
    assert.ok(resolved?.equals(key.publicKey))
    assert.equal(source.calls, 1)
  })

  it('when the kid is unknown, refreshes the set once and answers undefined', async () => {
    // Arrange
    const source = createJwksSource([generateSigningKey()])
    const clock = createClock()
    const client = createJwksClient({ fetchJwks: source.fetchJwks, now: clock.now })
    await client.refresh()
    clock.ms += MIN_REFRESH_MS

    // Act
    const resolved = await client.resolveKey('no-such-kid')

    // Assert
    assert.equal(resolved, undefined)
    assert.equal(source.calls, 2)
  })

  it('when a flood of random kids arrives, fetches no more than once per minRefreshMs', async () => {
    // Arrange
    const source = createJwksSource([generateSigningKey()])
    const clock = createClock()
    const client = createJwksClient({
      fetchJwks: source.fetchJwks,
      minRefreshMs: MIN_REFRESH_MS,
      now: clock.now,
    })

    // Act: half one after the other, half all at once (the second half joins no fetch at all).
    for (let i = 0; i < 50; i += 1) await client.resolveKey(randomUUID())
    await Promise.all(Array.from({ length: 50 }, () => client.resolveKey(randomUUID())))

    // Assert
    assert.equal(source.calls, 1)
  })

  it('when a flood of random kids arrives concurrently on a cold cache, shares one fetch', async () => {
    // Arrange
    const source = createJwksSource([generateSigningKey()])
    const client = createJwksClient({ fetchJwks: source.fetchJwks, minRefreshMs: MIN_REFRESH_MS })

    // Act
    const resolved = await Promise.all(
      Array.from({ length: 100 }, () => client.resolveKey(randomUUID())),
    )

    // Assert
    assert.ok(resolved.every((key) => key === undefined))
    assert.equal(source.calls, 1)
  })

  it('when a key is added to the set (rotation), picks it up on the next allowed refresh', async () => {
    // Arrange
    const oldKey = generateSigningKey()
    const source = createJwksSource([oldKey])
    const clock = createClock()
    const client = createJwksClient({
      fetchJwks: source.fetchJwks,
      minRefreshMs: MIN_REFRESH_MS,
      now: clock.now,
    })
    await client.refresh()
    const newKey = generateSigningKey()
    source.keys.push(newKey)

    // Act
    const tooSoon = await client.resolveKey(newKey.kid)
    clock.ms += MIN_REFRESH_MS
    const afterRefresh = await client.resolveKey(newKey.kid)

    // Assert
    assert.equal(tooSoon, undefined)
    assert.ok(afterRefresh?.equals(newKey.publicKey))
    assert.ok((await client.resolveKey(oldKey.kid))?.equals(oldKey.publicKey))
    assert.equal(source.calls, 2)
  })

  it('when the JWKS source fails, answers undefined instead of throwing', async () => {
    // Arrange
    const key = generateSigningKey()
    const source = createJwksSource([key])
    source.failing = true
    const client = createJwksClient({ fetchJwks: source.fetchJwks, minRefreshMs: MIN_REFRESH_MS })

    // Act
    const resolved = await client.resolveKey(key.kid)

    // Assert
    assert.equal(resolved, undefined)
    assert.equal(source.calls, 1)
  })

  it('when the JWKS source fails, keeps serving the keys it already had', async () => {
    // Arrange
    const key = generateSigningKey()
    const source = createJwksSource([key])
    const clock = createClock()
    const client = createJwksClient({ fetchJwks: source.fetchJwks, now: clock.now })
    await client.refresh()
    source.failing = true
    clock.ms += MIN_REFRESH_MS

    // Act
    const unknown = await client.resolveKey('no-such-kid')
    const known = await client.resolveKey(key.kid)

    // Assert
    assert.equal(unknown, undefined)
    assert.ok(known?.equals(key.publicKey))
  })

  it('when the JWKS source keeps failing, still retries no more than once per minRefreshMs', async () => {
    // Arrange: an outage of the auth service must not turn random kids into a fetch storm.
    const key = generateSigningKey()
    const source = createJwksSource([key])
    source.failing = true
    const clock = createClock()
    const client = createJwksClient({
      fetchJwks: source.fetchJwks,
      minRefreshMs: MIN_REFRESH_MS,
      now: clock.now,
    })

    // Act
    for (let i = 0; i < 100; i += 1) await client.resolveKey(randomUUID())
    clock.ms += MIN_REFRESH_MS
    source.failing = false
    const recovered = await client.resolveKey(key.kid)

    // Assert
    assert.equal(source.calls, 2)
    assert.ok(recovered?.equals(key.publicKey))
  })

  it('when an explicit refresh fails, rejects so that start-up can report it', async () => {
    // Arrange
    const source = createJwksSource([])
    source.failing = true
    const client = createJwksClient({ fetchJwks: source.fetchJwks })

    // Act
    const refreshing = client.refresh()

    // Assert
    await assert.rejects(refreshing, /ECONNREFUSED/)
  })

  it('when the set is older than maxAgeMs, re-reads it in the background and stops trusting a withdrawn key', async () => {
    // Arrange
    const [withdrawn, kept] = [generateSigningKey(), generateSigningKey()]
    const source = createJwksSource([withdrawn, kept])
    const clock = createClock()
    const client = createJwksClient({ fetchJwks: source.fetchJwks, minRefreshMs: MIN_REFRESH_MS, maxAgeMs: 60_000, now: clock.now })
    await client.refresh()
    source.keys = [kept]

    // Act
    clock.ms += 61_000
    await client.resolveKey(kept.kid)
    while (source.calls < 2) await new Promise((resolve) => setImmediate(resolve))
    await new Promise((resolve) => setImmediate(resolve))

    // Assert
    assert.equal(await client.resolveKey(withdrawn.kid), undefined)
    assert.ok(await client.resolveKey(kept.kid))
  })
})


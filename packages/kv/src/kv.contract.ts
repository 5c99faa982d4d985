import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { describe, it, type TestContext } from 'node:test'
import { waitUntil } from '@platform/testkit/infra'
import { KvUnavailableError, type Kv } from './kv.ts'

/**
 * The behaviour every {@link Kv} must have, as a `node:test` suite: run it once per implementation
 * (kratos runs its identity pool contract against each database the same way). `open` is called
 * once per test and must give a usable store; the suite closes it. Keys are random per test, so
 * parallel runs against one shared Redis never collide. `opts` goes to `describe`, so
 * `{ skip: !url }` skips the suite when the real server is not configured.
 *
 * @example
 * const url = infraUrl('REDIS_URL')
 * describeKvContract('redis', async () => createRedisKv({ url: url!, prefix }), { skip: !url })
 */
export function describeKvContract(
  name: string,
  open: () => Promise<Kv>,
  opts: { skip?: boolean } = {},
): void {
  async function openKv(t: TestContext): Promise<Kv> {
    const kv = await open()
    t.after(() => kv.close())
    return kv
  }

  describe(`${name}: Kv contract`, opts, () => {
    describe('get / set / del', () => {
      it('when a key is set, get returns its value and a missing key gives null', async (t) => {
        const kv = await openKv(t)
        const key = uniqueKey('basic')

        const stored = await kv.set(key, 'v1')

        assert.equal(stored, true)
        assert.equal(await kv.get(key), 'v1')
        assert.equal(await kv.get(uniqueKey('missing')), null)
      })

      it('when a key is set again, the new value replaces the old one', async (t) => {
        const kv = await openKv(t)
        const key = uniqueKey('overwrite')
        await kv.set(key, 'old')

        await kv.set(key, 'new')

        assert.equal(await kv.get(key), 'new')
      })

      it('when keys are deleted, del counts only those that existed and they are gone', async (t) => {
        const kv = await openKv(t)
        const [a, b, missing] = [uniqueKey('del-a'), uniqueKey('del-b'), uniqueKey('del-missing')]
        await kv.set(a, '1')
        await kv.set(b, '2')

        const removed = await kv.del(a, b, missing)

        assert.equal(removed, 2)
        assert.deepEqual(await kv.mget([a, b]), [null, null])
        assert.equal(await kv.del(a), 0)
        assert.equal(await kv.del(), 0)
      })

      it('when a value is empty or non-ASCII, it comes back unchanged', async (t) => {
        const kv = await openKv(t)
        const [empty, unicode] = [uniqueKey('empty'), uniqueKey('unicode')]

        await kv.set(empty, '')
        await kv.set(unicode, 'jti:é✓🔑')

        assert.equal(await kv.get(empty), '')
        assert.equal(await kv.get(unicode), 'jti:é✓🔑')
      })
    })

    describe('expiry', () => {
      it('when a key is set with a ttl, it is gone after the ttl', async (t) => {
        const kv = await openKv(t)
        const key = uniqueKey('ttl')

        await kv.set(key, 'v', { ttlMs: 300 })

        assert.equal(await kv.get(key), 'v')
        await waitUntil(async () => (await kv.get(key)) === null, { what: `${key} to expire` })
      })

      it('when a key with a ttl is set again without one, it no longer expires', async (t) => {
        const kv = await openKv(t)
        const key = uniqueKey('ttl-cleared')
        await kv.set(key, 'v1', { ttlMs: 60_000 })

        await kv.set(key, 'v2')

        assert.equal(await kv.ttlMs(key), null)
        assert.equal(await kv.get(key), 'v2')
      })

      it('when ttlMs is asked, it answers the ms left, or null without key or expiry', async (t) => {
        const kv = await openKv(t)
        const [withTtl, withoutTtl] = [uniqueKey('ttl-some'), uniqueKey('ttl-none')]
        await kv.set(withTtl, 'v', { ttlMs: 60_000 })
        await kv.set(withoutTtl, 'v')

        const left = await kv.ttlMs(withTtl)

        assert.ok(left !== null && left > 0 && left <= 60_000, `ttlMs gave ${left}`)
        assert.equal(await kv.ttlMs(withoutTtl), null)
        assert.equal(await kv.ttlMs(uniqueKey('ttl-missing')), null)
      })

      it('when a ttl is not a positive whole number of ms, set rejects with a RangeError', async (t) => {
        const kv = await openKv(t)
        const key = uniqueKey('ttl-invalid')

        await assert.rejects(kv.set(key, 'v', { ttlMs: 0 }), RangeError)
        await assert.rejects(kv.set(key, 'v', { ttlMs: 1.5 }), RangeError)
        await assert.rejects(kv.setMany([{ key, value: 'v', ttlMs: -1 }]), RangeError)
        await assert.rejects(kv.hit(key, 0), RangeError)

        assert.equal(await kv.get(key), null)
      })
    })

    describe('ifAbsent', () => {
      it('when the key exists, set with ifAbsent returns false and keeps the old value', async (t) => {
        const kv = await openKv(t)
        const key = uniqueKey('nx')

        const first = await kv.set(key, 'first', { ifAbsent: true })
        const second = await kv.set(key, 'second', { ifAbsent: true })

        assert.equal(first, true)
        assert.equal(second, false)
        assert.equal(await kv.get(key), 'first')
      })

      it('when the key was deleted or expired, set with ifAbsent succeeds again', async (t) => {
        const kv = await openKv(t)
        const [deleted, expiring] = [uniqueKey('nx-del'), uniqueKey('nx-exp')]
        await kv.set(deleted, 'old')
        await kv.del(deleted)
        await kv.set(expiring, 'old', { ttlMs: 50 })
        await waitUntil(async () => (await kv.get(expiring)) === null, {
          what: `${expiring} to expire`,
        })

        assert.equal(await kv.set(deleted, 'new', { ifAbsent: true }), true)
        assert.equal(await kv.set(expiring, 'new', { ifAbsent: true, ttlMs: 60_000 }), true)
        assert.equal(await kv.get(expiring), 'new')
        assert.ok(((await kv.ttlMs(expiring)) ?? 0) > 0)
      })
    })

    describe('mget', () => {
      it('when some keys are missing, mget keeps the order and gives null for them', async (t) => {
        const kv = await openKv(t)
        const [a, missing, b] = [
          uniqueKey('mget-a'),
          uniqueKey('mget-missing'),
          uniqueKey('mget-b'),
        ]
        await kv.set(a, 'A')
        await kv.set(b, 'B')

        const values = await kv.mget([a, missing, b, a])

        assert.deepEqual(values, ['A', null, 'B', 'A'])
        assert.deepEqual(await kv.mget([]), [])
      })
    })

    describe('setMany', () => {
      it('when entries carry ttls, each expires on its own and the others stay', async (t) => {
        const kv = await openKv(t)
        const [forever, short, long] = [
          uniqueKey('many-a'),
          uniqueKey('many-b'),
          uniqueKey('many-c'),
        ]

        await kv.setMany([
          { key: forever, value: '1' },
          { key: short, value: '2', ttlMs: 300 },
          { key: long, value: '3', ttlMs: 60_000 },
        ])

        assert.deepEqual(await kv.mget([forever, short, long]), ['1', '2', '3'])
        assert.equal(await kv.ttlMs(forever), null)
        const longLeft = await kv.ttlMs(long)
        assert.ok(
          longLeft !== null && longLeft > 300 && longLeft <= 60_000,
          `ttlMs gave ${longLeft}`,
        )
        await waitUntil(async () => (await kv.get(short)) === null, { what: `${short} to expire` })
        assert.deepEqual(await kv.mget([forever, long]), ['1', '3'])
      })

      it('when the list is empty, setMany does nothing', async (t) => {
        const kv = await openKv(t)

        await kv.setMany([])

        await kv.ping()
      })
    })

    describe('hit', () => {
      it('when a key is hit in one window, the count grows and the reset time stays in the window', async (t) => {
        const kv = await openKv(t)
        const key = uniqueKey('hit')

        const first = await kv.hit(key, 60_000)
        const second = await kv.hit(key, 60_000)

        assert.equal(first.count, 1)
        assert.equal(second.count, 2)
        assert.ok(first.resetMs > 0 && first.resetMs <= 60_000, `resetMs gave ${first.resetMs}`)
        assert.ok(
          second.resetMs > 0 && second.resetMs <= first.resetMs,
          `resetMs gave ${second.resetMs}`,
        )
      })

      it('when the window has passed, the next hit starts again at 1', async (t) => {
        const kv = await openKv(t)
        const key = uniqueKey('hit-reset')
        await kv.hit(key, 200)
        await kv.hit(key, 200)

        await waitUntil(async () => (await kv.ttlMs(key)) === null, {
          what: `${key} window to end`,
        })
        const next = await kv.hit(key, 60_000)

        assert.equal(next.count, 1)
        assert.ok(next.resetMs > 200, `a new window of 60 s gave resetMs ${next.resetMs}`)
      })

      it('when 50 hits on one key run concurrently, they get exactly the counts 1..50', async (t) => {
        const kv = await openKv(t)
        const key = uniqueKey('hit-concurrent')

        const results = await Promise.all(Array.from({ length: 50 }, () => kv.hit(key, 60_000)))

        const counts = results.map((r) => r.count).sort((a, b) => a - b)
        assert.deepEqual(
          counts,
          Array.from({ length: 50 }, (_, i) => i + 1),
        )
        assert.equal(await kv.get(key), '50')
      })

      it('when a counter has no expiry, the next hit gives it the window', async (t) => {
        const kv = await openKv(t)
        const key = uniqueKey('hit-no-ttl')
        await kv.set(key, '7')

        const next = await kv.hit(key, 60_000)

        assert.equal(next.count, 8)
        assert.ok(next.resetMs > 0 && next.resetMs <= 60_000, `resetMs gave ${next.resetMs}`)
        assert.ok(((await kv.ttlMs(key)) ?? 0) > 0)
      })
    })

    describe('hitAndGet', () => {
      it('when called, counts like hit and reads the other keys, missing ones as null', async (t) => {
        const kv = await openKv(t)
        const counter = uniqueKey('hg-counter')
        const present = uniqueKey('hg-present')
        const missing = uniqueKey('hg-missing')
        await kv.set(present, 'yes')

        const first = await kv.hitAndGet(counter, 60_000, [present, missing])
        const second = await kv.hitAndGet(counter, 60_000, [])

        assert.equal(first.count, 1)
        assert.deepEqual(first.values, ['yes', null])
        assert.ok(first.resetMs > 0 && first.resetMs <= 60_000)
        assert.equal(second.count, 2)
        assert.deepEqual(second.values, [])
        assert.equal((await kv.hit(counter, 60_000)).count, 3)
      })
    })

    describe('lifecycle', () => {
      it('when the store is reachable, ping resolves', async (t) => {
        const kv = await openKv(t)

        await kv.ping()
      })

      it('when the store was closed, every operation rejects with KvUnavailableError', async (t) => {
        const kv = await openKv(t)
        const key = uniqueKey('closed')

        await kv.close()
        await kv.close()

        await assert.rejects(kv.get(key), KvUnavailableError)
        await assert.rejects(kv.set(key, 'v'), KvUnavailableError)
        await assert.rejects(kv.hit(key, 1000), KvUnavailableError)
        await assert.rejects(kv.hitAndGet(key, 1000, [key]), KvUnavailableError)
        await assert.rejects(kv.mget([key]), KvUnavailableError)
        await assert.rejects(kv.setMany([{ key, value: 'v' }]), KvUnavailableError)
        await assert.rejects(kv.del(key), KvUnavailableError)
        await assert.rejects(kv.ttlMs(key), KvUnavailableError)
        await assert.rejects(kv.ping(), (err: Error) => err.name === 'KvUnavailableError')
      })
    })
  })
}

function uniqueKey(label: string): string {
  return `contract:${label}:${randomUUID()}`
}

import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { infraUrl } from '@platform/testkit/infra'
import { createRedisKv } from '../src/index.ts'
import { describeKvContract } from '../src/kv.contract.ts'

const url = infraUrl('REDIS_URL')
// One prefix per run: the shared Redis only ever sees keys this run created.
const prefix = `test:kv:${randomUUID()}:`

after(async () => {
  if (!url) return
  // Only this run's keys: everything it wrote sits under its own prefix.
  const raw = new Redis(url)
  try {
    for await (const keys of raw.scanStream({ match: `${prefix}*`, count: 500 })) {
      if ((keys as string[]).length > 0) await raw.unlink(...(keys as string[]))
    }
  } finally {
    await raw.quit()
  }
})

describeKvContract('redis', async () => createRedisKv({ url: url!, prefix }), { skip: !url })

describe('redis kv: key prefix and shared counters', { skip: !url }, () => {
  it('when keys are written by set, setMany and hit, they land under the prefix in Redis', async (t) => {
    const kv = createRedisKv({ url: url!, prefix })
    const raw = new Redis(url!)
    t.after(async () => {
      await kv.close()
      await raw.quit()
    })
    const id = randomUUID()

    await kv.set(`plain:${id}`, 'v')
    await kv.setMany([{ key: `many:${id}`, value: 'v', ttlMs: 60_000 }])
    await kv.hit(`hit:${id}`, 60_000)

    assert.deepEqual(
      await raw.mget(`${prefix}plain:${id}`, `${prefix}many:${id}`, `${prefix}hit:${id}`),
      ['v', 'v', '1'],
    )
    assert.deepEqual(await raw.exists(`plain:${id}`, `many:${id}`, `hit:${id}`), 0)
    assert.ok((await raw.pttl(`${prefix}hit:${id}`)) > 0)
  })

  it('when two instances hit one key concurrently, no increment is lost', async (t) => {
    const kvs = [createRedisKv({ url: url!, prefix }), createRedisKv({ url: url!, prefix })]
    t.after(() => Promise.all(kvs.map((kv) => kv.close())))
    const key = `shared-hit:${randomUUID()}`

    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => kvs[i % kvs.length]!.hit(key, 60_000)),
    )

    const counts = results.map((r) => r.count).sort((a, b) => a - b)
    assert.deepEqual(
      counts,
      Array.from({ length: 50 }, (_, i) => i + 1),
    )
  })

  it('when different prefixes use the same key, they do not see each other', async (t) => {
    const a = createRedisKv({ url: url!, prefix: `${prefix}a:` })
    const b = createRedisKv({ url: url!, prefix: `${prefix}b:` })
    t.after(() => Promise.all([a.close(), b.close()]))
    const key = `isolated:${randomUUID()}`

    await a.set(key, 'from-a')

    assert.equal(await b.get(key), null)
    assert.equal((await b.hit(key, 60_000)).count, 1)
    assert.equal(await a.get(key), 'from-a')
  })
})

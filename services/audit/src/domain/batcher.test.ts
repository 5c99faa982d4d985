import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createBatcher } from './batcher.ts'

describe('createBatcher', () => {
  it('when many items arrive at once, writes them in batches of at most maxSize, one batch at a time', async () => {
    const batches: number[][] = []
    let writing = 0
    let overlap = false
    const batcher = createBatcher<number, number>({
      maxSize: 4,
      lingerMs: 5,
      async flush(items) {
        overlap ||= writing > 0
        writing++
        batches.push(items)
        await new Promise((resolve) => setTimeout(resolve, 5))
        writing--
        return items.map((i) => i * 10)
      },
    })

    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => batcher.add(i)))

    assert.deepEqual(results, [0, 10, 20, 30, 40, 50, 60, 70, 80, 90])
    assert.deepEqual(batches.flat(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    assert.ok(batches.every((b) => b.length <= 4))
    assert.ok(batches.length <= 4, `expected few batches, got ${batches.length}`)
    assert.equal(overlap, false)
  })

  it('when a batch fails, its items are retried one by one and only the bad one fails', async () => {
    const batcher = createBatcher<number, string>({
      maxSize: 10,
      lingerMs: 1,
      async flush(items) {
        if (items.includes(3)) throw new Error(items.length === 1 ? 'cannot store 3' : 'batch failed')
        return items.map((i) => `ok ${i}`)
      },
    })

    const results = await Promise.allSettled([1, 2, 3, 4].map((i) => batcher.add(i)))

    assert.deepEqual(
      results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)),
      ['ok 1', 'ok 2', 'cannot store 3', 'ok 4'],
    )
  })

  it('when drained, resolves after everything queued was written', async () => {
    let written = 0
    const batcher = createBatcher<number, void>({ maxSize: 100, lingerMs: 50, flush: async (items) => items.map(() => void written++) })
    const adds = [1, 2, 3].map((i) => batcher.add(i))

    await batcher.drain()

    assert.equal(written, 3)
    assert.equal(batcher.pending(), 0)
    await Promise.all(adds)
  })
})

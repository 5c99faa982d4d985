import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { waitUntil } from '@platform/testkit/infra'
import { createPollLoop } from '../src/index.ts'

describe('createPollLoop', () => {
  it('when notified while idle, runs the next tick at once instead of after idleMs', async (t) => {
    let ticks = 0
    const loop = createPollLoop({ idleMs: 60_000, maxBackoffMs: 60_000, tick: async () => (ticks++, { more: false }), onError: () => {} })
    loop.start()
    t.after(() => loop.stop())
    await waitUntil(() => ticks === 1, { what: 'the first tick' })

    loop.notify()

    await waitUntil(() => ticks === 2, { timeoutMs: 2000, what: 'the notified tick' })
  })

  it('when work is waiting, ticks back to back; when a tick fails, reports it and carries on', async (t) => {
    let ticks = 0
    const failures: number[] = []
    const loop = createPollLoop({
      idleMs: 5,
      maxBackoffMs: 20,
      tick: async () => {
        ticks++
        if (ticks === 3 || ticks === 4) throw new Error('database down')
        return { more: ticks < 3 }
      },
      onError: (_error, count) => failures.push(count),
    })

    loop.start()
    t.after(() => loop.stop())

    await waitUntil(() => ticks >= 6, { what: 'recovery after the failures' })
    assert.deepEqual(failures, [1, 2])
  })

  it('after a failed tick, retries on the back-off base, not after the idle interval', async (t) => {
    let ticks = 0
    const loop = createPollLoop({
      idleMs: 60_000,
      backoffBaseMs: 5,
      maxBackoffMs: 60_000,
      tick: async () => {
        ticks++
        if (ticks <= 2) throw new Error('database down')
        return { more: false }
      },
      onError: () => {},
    })

    loop.start()
    t.after(() => loop.stop())

    // Two failures, then the successful third tick: 10 + 20 ms of back-off, not two minutes.
    await waitUntil(() => ticks === 3, { timeoutMs: 5000, what: 'the tick after the failures' })
  })

  it('when stopped, waits for the tick in progress and runs no more', async () => {
    let ticks = 0
    let release!: () => void
    const loop = createPollLoop({
      idleMs: 1,
      maxBackoffMs: 1,
      tick: () => new Promise((resolve) => ((ticks++, (release = () => resolve({ more: true }))))),
      onError: () => {},
    })
    loop.start()
    await waitUntil(() => ticks === 1, { what: 'a tick in progress' })

    const stopped = loop.stop()
    release()
    await stopped

    assert.equal(ticks, 1)
  })
})

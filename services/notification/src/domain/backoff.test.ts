import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { afterFailure } from './backoff.ts'

describe('afterFailure', () => {
  const policy = { maxAttempts: 8, baseMs: 30_000, maxMs: 3_600_000 }

  it('when an attempt fails before the last, the next waits base × 2^(n-1)', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7].map((n) => afterFailure(n, policy))
    assert.ok(delays.every((d) => d.status === 'retrying'))
    assert.deepEqual(
      delays.map((d) => d.delayMs),
      [30_000, 60_000, 120_000, 240_000, 480_000, 960_000, 1_920_000],
    )
  })

  it('when the last attempt fails, the delivery is dead', () => {
    assert.deepEqual(afterFailure(8, policy), { status: 'dead', delayMs: 0 })
    assert.equal(afterFailure(9, policy).status, 'dead')
  })

  it('when the doubling would pass the cap, the delay stays at the cap', () => {
    assert.equal(afterFailure(20, { maxAttempts: 100, baseMs: 1_000, maxMs: 60_000 }).delayMs, 60_000)
  })

  it('when only one attempt is allowed, its failure is final', () => {
    assert.equal(afterFailure(1, { ...policy, maxAttempts: 1 }).status, 'dead')
  })
})

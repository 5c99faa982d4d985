import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DEFAULT_LOCKOUT, lockDurationS } from './lockout.ts'

describe('lockDurationS', () => {
  it('when locks follow each other, doubles each time up to the cap and never beyond', () => {
    const rule = { failures: 5, windowS: 300, lockS: 300, maxLockS: 3600 }
    assert.deepEqual([1, 2, 3, 4, 5, 6, 50].map((level) => lockDurationS(rule, level)), [300, 600, 1200, 2400, 3600, 3600, 3600])
  })

  it('when the cap is below the first lock, the first lock still lasts its full length', () => {
    assert.equal(lockDurationS({ failures: 1, windowS: 60, lockS: 600, maxLockS: 60 }, 3), 600)
  })

  it('keeps the account-wide lock short by default: anyone can trip it for someone else', () => {
    assert.equal(lockDurationS(DEFAULT_LOCKOUT.perAccount, 100), 3600)
    assert.equal(lockDurationS(DEFAULT_LOCKOUT.perIp, 100), 86_400)
  })
})

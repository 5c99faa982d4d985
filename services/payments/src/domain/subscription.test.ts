import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { changeOf, isCurrent, statusFromStripe } from './subscription.ts'

describe('changeOf', () => {
  it('names each transition of none → trialing → active → past_due → canceled and back', () => {
    assert.equal(changeOf('none', 'trialing', true), 'activated')
    assert.equal(changeOf('none', 'active', true), 'activated')
    assert.equal(changeOf('trialing', 'active', false), 'updated')
    assert.equal(changeOf('active', 'past_due', false), 'updated')
    assert.equal(changeOf('past_due', 'active', false), 'updated')
    assert.equal(changeOf('past_due', 'canceled', false), 'canceled')
    assert.equal(changeOf('canceled', 'active', false), 'activated')
  })

  it('announces a new period without a status change as updated, and nothing without any change', () => {
    assert.equal(changeOf('active', 'active', true), 'updated')
    assert.equal(changeOf('active', 'active', false), undefined)
    assert.equal(changeOf('none', 'none', true), undefined)
  })
})

describe('statusFromStripe', () => {
  it('maps Stripe statuses; incomplete is no state yet', () => {
    assert.deepEqual(
      ['trialing', 'active', 'past_due', 'unpaid', 'paused', 'canceled', 'incomplete_expired', 'incomplete', 'made_up'].map(statusFromStripe),
      ['trialing', 'active', 'past_due', 'past_due', 'past_due', 'canceled', 'canceled', undefined, undefined],
    )
  })
})

describe('isCurrent', () => {
  it('applies an event of the same second or later, never an older one', () => {
    assert.equal(isCurrent(100, 100), true)
    assert.equal(isCurrent(101, 100), true)
    assert.equal(isCurrent(99, 100), false)
  })
})

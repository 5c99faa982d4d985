import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { periodEnd, plansSchema } from './plans.ts'

describe('plansSchema', () => {
  it('accepts a plan list and maps it to camelCase', () => {
    const [plan] = plansSchema.parse([{ id: 'basic', product: 'app', interval: 'month', amount: 500, currency: 'eur', max_machines: 1 }])
    assert.deepEqual(plan, { id: 'basic', product: 'app', interval: 'month', amount: 500, currency: 'eur', trialDays: 0, maxMachines: 1, stripePriceId: undefined })
  })

  it('refuses duplicate ids, unknown fields, bad currencies and an empty list', () => {
    const base = { id: 'basic', product: 'app', interval: 'month', amount: 500, currency: 'eur', max_machines: 1 }
    assert.equal(plansSchema.safeParse([base, base]).success, false)
    assert.equal(plansSchema.safeParse([{ ...base, colour: 'red' }]).success, false)
    assert.equal(plansSchema.safeParse([{ ...base, currency: 'EURO' }]).success, false)
    assert.equal(plansSchema.safeParse([]).success, false)
  })
})

describe('periodEnd', () => {
  it('adds calendar months and years, and days or weeks', () => {
    const start = new Date('2026-01-31T10:00:00Z')
    assert.equal(periodEnd(start, 'year').toISOString(), '2027-01-31T10:00:00.000Z')
    assert.equal(periodEnd(start, 'week').toISOString(), '2026-02-07T10:00:00.000Z')
    assert.equal(periodEnd(new Date('2026-03-15T00:00:00Z'), 'month').toISOString(), '2026-04-15T00:00:00.000Z')
  })
})

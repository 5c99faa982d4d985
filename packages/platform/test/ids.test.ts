import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { uuidv7 } from '../src/ids.ts'

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

describe('uuidv7', () => {
  it('when ids are made across several refills of the random pool, each is a well-formed v7 UUID and none repeats', () => {
    const ids = Array.from({ length: 5_000 }, () => uuidv7())
    for (const id of ids) assert.match(id, UUID_V7)
    assert.equal(new Set(ids).size, ids.length)
  })

  it('when given an instant, the id starts with its 48-bit millisecond timestamp, so ids sort by creation time', () => {
    const at = Date.UTC(2026, 10, 29, 12, 0, 0)
    const id = uuidv7(at)
    assert.equal(Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16), at)
    assert.ok(uuidv7(at) < uuidv7(at + 1))
  })

  it('when two ids share a millisecond, their random bits differ', () => {
    const at = Date.now()
    assert.notEqual(uuidv7(at).slice(14), uuidv7(at).slice(14))
  })
})

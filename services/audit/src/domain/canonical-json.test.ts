import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { canonicalJson } from './canonical-json.ts'

describe('canonicalJson', () => {
  it('when objects hold the same members in another order, writes the same bytes', () => {
    const a = { b: 1, a: { d: [1, 'x'], c: null } }
    const b = { a: { c: null, d: [1, 'x'] }, b: 1 }

    assert.equal(canonicalJson(a), canonicalJson(b))
    assert.equal(canonicalJson(a), '{"a":{"c":null,"d":[1,"x"]},"b":1}')
  })

  it('when a value round-trips through JSON.parse, the bytes stay the same', () => {
    const value = { text: 'é\u2028"\\\n', n: 0.1, big: 1e21, neg: -5, nested: [{ z: true, y: false }] }

    const once = canonicalJson(value)

    assert.equal(canonicalJson(JSON.parse(once)), once)
  })

  it('when a member is undefined, leaves it out as JSON does; in an array it becomes null', () => {
    assert.equal(canonicalJson({ a: undefined, b: [undefined] }), '{"b":[null]}')
  })

  it('when keys differ only beyond ASCII, sorts them by UTF-16 code units', () => {
    assert.equal(canonicalJson({ é: 1, z: 2, A: 3 }), '{"A":3,"z":2,"é":1}')
  })

  it('when a number is not finite, refuses instead of writing null silently', () => {
    assert.throws(() => canonicalJson({ n: Number.NaN }), TypeError)
    assert.throws(() => canonicalJson(Infinity), TypeError)
  })
})

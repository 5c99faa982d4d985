import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { safeEqual, sealSecret, unsealSecret } from '../src/index.ts'

describe('sealSecret', () => {
  it('when unsealed with the same key, gives back the secret; with another key or altered, throws', () => {
    const sealed = sealSecret('key one', 'reset-token-123')
    assert.equal(unsealSecret('key one', sealed), 'reset-token-123')
    assert.doesNotMatch(sealed, /reset-token/)
    assert.throws(() => unsealSecret('key two', sealed))
    const altered = Buffer.from(sealed, 'base64url')
    altered[14] = altered[14]! ^ 1
    assert.throws(() => unsealSecret('key one', altered.toString('base64url')))
  })
})

describe('safeEqual', () => {
  it('is true only for equal strings, whatever their lengths', () => {
    assert.equal(safeEqual('abc', 'abc'), true)
    assert.equal(safeEqual('abc', 'abd'), false)
    assert.equal(safeEqual('abc', 'abcd'), false)
    assert.equal(safeEqual('', ''), true)
  })
})

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { REDACTED, scrubDetails, storableText } from './scrub.ts'

describe('scrubDetails', () => {
  it('when keys name a password, token, secret, key, authorization or cookie at any depth, their values are redacted', () => {
    const data = {
      email: 'a@example.com',
      password: 'hunter2',
      nested: { reset_token_sealed: 'abc', Authorization: 'Bearer x', list: [{ api_key: 'k', ok: 1 }] },
      Cookie: 'sid=1',
      client_secret: { deep: 'x' },
      verification_token_sealed: 'sealed',
    }

    const details = scrubDetails(data)

    assert.deepEqual(details, {
      email: 'a@example.com',
      password: REDACTED,
      nested: { reset_token_sealed: REDACTED, Authorization: REDACTED, list: [{ api_key: REDACTED, ok: 1 }] },
      Cookie: REDACTED,
      client_secret: REDACTED,
      verification_token_sealed: REDACTED,
    })
    assert.equal(data.password, 'hunter2', 'the event itself is left untouched')
  })

  it('when a string value is an IPv4 or IPv6 address, it is redacted wherever it sits', () => {
    const details = scrubDetails({ ip: '203.0.113.7', hops: ['2001:db8::1', 'not-an-ip'], note: '203.0.113.7 was here' })

    assert.deepEqual(details, { ip: REDACTED, hops: [REDACTED, 'not-an-ip'], note: '203.0.113.7 was here' })
  })

  it('when values cannot be stored (NUL, lone surrogates, undefined, NaN), they become storable JSON', () => {
    const details = scrubDetails({ a: 'x\u0000y', b: '\uD800z', c: undefined, d: Number.NaN, e: [undefined], 'k\u0000': 1 })

    assert.deepEqual(details, { a: 'x\uFFFDy', b: '\uFFFDz', d: null, e: [null], 'k\uFFFD': 1 })
  })
})

describe('storableText', () => {
  it('when a string holds a valid surrogate pair, keeps it', () => {
    assert.equal(storableText('emoji 😀'), 'emoji 😀')
  })
})

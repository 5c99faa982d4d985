import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { describeBusContract } from '../src/bus.contract.ts'
import { createMemoryBus, topicMatches } from '../src/memory-bus.ts'

describeBusContract('memory', async () => createMemoryBus())

describe('topicMatches', () => {
  it('when a pattern has * or #, it matches one word or any number of words', () => {
    const cases: [string, string, boolean][] = [
      ['auth.login.failed', 'auth.login.failed', true],
      ['auth.login.failed', 'auth.login', false],
      ['auth.*', 'auth.ping', true],
      ['auth.*', 'auth.login.failed', false],
      ['auth.*', 'auth', false],
      ['*.login.*', 'auth.login.failed', true],
      ['auth.#', 'auth', true],
      ['auth.#', 'auth.login.failed', true],
      ['auth.#', 'license.license.issued', false],
      ['#', 'license.license.issued', true],
      ['#.failed', 'auth.login.failed', true],
      ['#.failed', 'auth.login.succeeded', false],
      ['auth.#.failed', 'auth.failed', true],
      ['auth.#.failed', 'auth.a.b.c.failed', true],
      ['#.#', 'a.b', true],
    ]

    for (const [pattern, key, expected] of cases) {
      assert.equal(topicMatches(pattern, key), expected, `${pattern} vs ${key}`)
    }
  })
})

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { z } from 'zod'
import { ConfigError, commonEnv, jsonSchema, parseEnv, portSchema } from '../src/index.ts'

const Env = z.object({ ...commonEnv, PORT: portSchema(3000), LIMITS: jsonSchema(z.strictObject({ n: z.number() })).optional() })

describe('parseEnv', () => {
  it('when every value is valid, returns the parsed, frozen config with defaults', () => {
    const config = parseEnv(Env, { PORT: '4001', REDIS_URL: 'redis://127.0.0.1:6379' })
    assert.equal(config.PORT, 4001)
    assert.equal(config.DATA_DIR, '.data')
    assert.equal(config.PUBLIC_URL, 'https://localhost:8443')
    assert.ok(Object.isFrozen(config))
  })

  for (const [name, env, pattern] of [
    ['a port that is not a number', { PORT: 'eighty' }, /^PORT: expected a port number, got "eighty"$/],
    ['a Redis URL with the wrong scheme', { REDIS_URL: 'http://x' }, /^REDIS_URL: expected a URL starting with redis:\/\/ or rediss:\/\//],
    ['JSON that does not parse', { LIMITS: '{nope' }, /^LIMITS: expected JSON/],
    ['JSON with an unknown field', { LIMITS: '{"n":1,"m":2}' }, /^LIMITS/],
    ['a URL with credentials and the wrong scheme', { REDIS_URL: 'http://user:hunter2@x' }, /^REDIS_URL: .*got "http:\/\/\*\*\*@x"$/],
  ] as const) {
    it(`when given ${name}, throws one line naming the variable`, () => {
      assert.throws(
        () => parseEnv(Env, env),
        (error: unknown) => error instanceof ConfigError && pattern.test(error.message) && !error.message.includes('\n'),
      )
    })
  }

  it('when a secret is bad, names the variable without echoing its value', () => {
    const Secret = z.object({ AUTH_TOKEN_SECRET: z.string().min(32), ADMIN_PASSWORD: z.string().min(8), SIGNING_KEY: z.string().min(8) })
    for (const env of [
      { AUTH_TOKEN_SECRET: 'short-but-secret', ADMIN_PASSWORD: 'long enough', SIGNING_KEY: 'long enough' },
      { AUTH_TOKEN_SECRET: 'x'.repeat(32), ADMIN_PASSWORD: 'hunter2', SIGNING_KEY: 'long enough' },
      { AUTH_TOKEN_SECRET: 'x'.repeat(32), ADMIN_PASSWORD: 'long enough', SIGNING_KEY: 'pem?' },
    ]) {
      assert.throws(
        () => parseEnv(Secret, env),
        (error: unknown) => error instanceof ConfigError && !/short-but-secret|hunter2|pem\?|got/.test(error.message),
      )
    }
  })
})

import assert from 'node:assert/strict'
import { pbkdf2Sync } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import bcrypt from 'bcryptjs'
import { startStack, uniqueEmail, type Stack } from '../src/stack.ts'

describe('login with a password hash migrated from another system', () => {
  let stack: Stack
  before(async () => {
    stack = await startStack({ RATE_LIMITS: JSON.stringify({ login_ip: { limit: 100, window_s: 60 }, login_email: { limit: 100, window_s: 60 } }) })
  })
  after(() => stack.stop())

  const insertUser = async (email: string, passwordHash: string) => {
    await stack.platform.auth.deps.db
      .insertInto('users')
      .values({ id: crypto.randomUUID(), email, password_hash: passwordHash, roles: ['user'], email_verified: false, disabled: false })
      .execute()
  }
  const storedHash = async (email: string) =>
    (await stack.platform.auth.deps.db.selectFrom('users').select('password_hash').where('email', '=', email).executeTakeFirstOrThrow()).password_hash

  for (const [scheme, hash] of [
    ['bcrypt', (pw: string) => bcrypt.hashSync(pw, 4)],
    ['Werkzeug PBKDF2-SHA256', (pw: string) => `pbkdf2:sha256:1000$salty$${pbkdf2Sync(pw, 'salty', 1000, 32, 'sha256').toString('hex')}`],
  ] as const) {
    it(`when the stored hash is ${scheme}, logs in and replaces it with argon2id`, async () => {
      const email = uniqueEmail('legacy')
      await insertUser(email, hash('migrated password'))

      const wrong = await stack.client.request('POST', '/auth/login', { json: { email, password: 'not the password' } })
      const login = await stack.client.request('POST', '/auth/login', { json: { email, password: 'migrated password' } })

      assert.equal(wrong.status, 401)
      assert.equal(login.status, 200)
      assert.match(await storedHash(email), /^\$argon2id\$/)
      const again = await stack.client.request('POST', '/auth/login', { json: { email, password: 'migrated password' } })
      assert.equal(again.status, 200)
    })
  }
})

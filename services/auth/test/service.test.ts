import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createMemoryKv } from '@platform/kv'
import { ConfigError } from '@platform/platform'
import { loadAuthConfig } from '../src/config.ts'
import { call, startTestAuth, type TestAuth } from './harness.ts'

const ADMIN = { BOOTSTRAP_ADMIN_EMAIL: ' First.Admin@Example.com ', BOOTSTRAP_ADMIN_PASSWORD: 'the first admin passphrase' }

describe('auth service: bootstrap admin', () => {
  let service: TestAuth
  before(async () => {
    service = await startTestAuth(ADMIN)
  })
  after(() => service.stop())

  it('when BOOTSTRAP_ADMIN_* are set, the admin exists with role admin and can log in', async () => {
    const login = await call(service.auth, 'POST', '/auth/login', { json: { email: 'first.admin@example.com', password: ADMIN.BOOTSTRAP_ADMIN_PASSWORD } })
    assert.equal(login.status, 200, JSON.stringify(login.body))
    const me = await call(service.auth, 'GET', '/auth/me', { token: login.body.access_token as string })
    assert.deepEqual(me.body.roles, ['admin'])
  })

  it('when the service starts again with other bootstrap values, the existing admin is left as it is', async () => {
    await service.restart({ BOOTSTRAP_ADMIN_PASSWORD: 'another passphrase entirely' })
    const old = await call(service.auth, 'POST', '/auth/login', { json: { email: 'first.admin@example.com', password: ADMIN.BOOTSTRAP_ADMIN_PASSWORD } })
    assert.equal(old.status, 200, 'the first password still works')
    const other = await call(service.auth, 'POST', '/auth/login', { json: { email: 'first.admin@example.com', password: 'another passphrase entirely' } })
    assert.equal(other.status, 401, 'the new value did not overwrite it')
    const users = await service.auth.deps.db.selectFrom('users').select('email').execute()
    assert.deepEqual(users.map((u) => u.email), ['first.admin@example.com'])
  })
})

describe('auth config: LOCKOUT and BOOTSTRAP_ADMIN_*', () => {
  it('when the bootstrap password breaks the policy, refuses to start, naming the variable but never the password', () => {
    assert.throws(
      () => loadAuthConfig({ BOOTSTRAP_ADMIN_EMAIL: 'boss@example.com', BOOTSTRAP_ADMIN_PASSWORD: 'password1' }),
      (error: unknown) => error instanceof ConfigError && /^BOOTSTRAP_ADMIN_PASSWORD: .*too common/.test(error.message) && !error.message.includes('password1'),
    )
    assert.throws(
      () => loadAuthConfig({ BOOTSTRAP_ADMIN_EMAIL: 'boss@example.com', BOOTSTRAP_ADMIN_PASSWORD: 'boss@example.com' }),
      (error: unknown) => error instanceof ConfigError && /^BOOTSTRAP_ADMIN_PASSWORD: .*e-mail/.test(error.message),
    )
  })

  it('when only one of the two bootstrap variables is set, names the missing one', () => {
    const names = (name: string) => (e: unknown) => e instanceof ConfigError && e.message.startsWith(`${name}: `)
    assert.throws(() => loadAuthConfig({ BOOTSTRAP_ADMIN_EMAIL: 'boss@example.com' }), names('BOOTSTRAP_ADMIN_PASSWORD'))
    assert.throws(() => loadAuthConfig({ BOOTSTRAP_ADMIN_PASSWORD: 'a fine passphrase' }), names('BOOTSTRAP_ADMIN_EMAIL'))
  })

  it('when LOCKOUT overrides one rule, the other keeps the contract default and the lock starts at the window', () => {
    const config = loadAuthConfig({ LOCKOUT: '{"per_ip":{"failures":3,"window_s":60}}' })
    assert.deepEqual(config.LOCKOUT.perIp, { failures: 3, windowS: 60, lockS: 60, maxLockS: 86_400 })
    assert.deepEqual(config.LOCKOUT.perAccount, { failures: 20, windowS: 600, lockS: 600, maxLockS: 3_600 })
    assert.deepEqual(loadAuthConfig({}).LOCKOUT.perIp, { failures: 5, windowS: 300, lockS: 300, maxLockS: 86_400 })
  })

  it('when LOCKOUT is malformed or has unknown fields, refuses to start naming LOCKOUT', () => {
    for (const value of ['{nope', '{"per_ip":{"failures":0,"window_s":60}}', '{"per_ip":{"failures":3}}', '{"per_host":{"failures":3,"window_s":60}}']) {
      assert.throws(() => loadAuthConfig({ LOCKOUT: value }), (e: unknown) => e instanceof ConfigError && e.message.startsWith('LOCKOUT'), value)
    }
  })
})

describe('auth service: login while the key-value store is down', () => {
  it('answers 503 dependency_unavailable without checking the password (fail closed)', async (t) => {
    const kv = createMemoryKv()
    const service = await startTestAuth({}, { kv })
    t.after(() => service.stop())
    const register = await call(service.auth, 'POST', '/auth/register', { json: { email: 'outage@example.com', password: 'correct horse battery staple' } })
    assert.equal(register.status, 201)

    await kv.close()
    const res = await call(service.auth, 'POST', '/auth/login', { json: { email: 'outage@example.com', password: 'correct horse battery staple' } })

    assert.equal(res.status, 503, JSON.stringify(res.body))
    assert.equal(res.body.code, 'dependency_unavailable')
  })
})

import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it, type TestContext } from 'node:test'
import { createMemoryKv, createRedisKv, type Kv } from '@platform/kv'
import { AppError, createLogger } from '@platform/platform'
import { infraUrl, waitUntil } from '@platform/testkit'
import { DEFAULT_LOCKOUT, guardLogin, unlockAccount, type LockoutDeps, type LockoutSettings } from '../src/domain/lockout.ts'

const redisUrl = infraUrl('REDIS_URL')
const log = createLogger('lockout-test', { level: 'silent' })

const stores: [string, () => Kv, boolean][] = [
  ['in-process store', () => createMemoryKv(), true],
  ['Redis', () => createRedisKv({ url: redisUrl!, prefix: `auth-lockout-test-${randomBytes(6).toString('hex')}:` }), Boolean(redisUrl)],
]

/** What a guarded attempt came to: checked (passed the guard) or refused with a code. */
async function attempt(deps: LockoutDeps, email: string, ip: string, outcome: 'fail' | 'succeed' = 'fail'): Promise<string> {
  try {
    const guarded = await guardLogin(deps, email, ip)
    await (outcome === 'fail' ? guarded.failed() : guarded.succeeded())
    return 'checked'
  } catch (error) {
    if (error instanceof AppError) return error.code
    throw error
  }
}

async function retryAfterOf(deps: LockoutDeps, email: string, ip: string): Promise<number> {
  const error = await guardLogin(deps, email, ip).then(
    () => assert.fail('expected a lock'),
    (e: unknown) => e,
  )
  assert.ok(error instanceof AppError && error.code === 'account_locked', String(error))
  return Number(error.headers?.['Retry-After'])
}

for (const [name, open, available] of stores) {
  describe(`brute-force guard on the ${name}`, { skip: available ? false : 'REDIS_URL not set' }, () => {
    function deps(t: TestContext, settings: LockoutSettings = DEFAULT_LOCKOUT): LockoutDeps {
      const kv = open()
      t.after(() => kv.close())
      return { kv, settings, hashKey: randomBytes(32), log }
    }
    const email = () => `victim-${randomBytes(4).toString('hex')}@example.com`

    it('when 30 guesses race from one IP, exactly 5 pass the guard and 25 are refused with account_locked', async (t) => {
      const d = deps(t)
      const target = email()
      const outcomes = await Promise.all(Array.from({ length: 30 }, () => attempt(d, target, '203.0.113.7')))
      assert.equal(outcomes.filter((o) => o === 'checked').length, 5, outcomes.join(','))
      assert.equal(outcomes.filter((o) => o === 'account_locked').length, 25)
    })

    it('when guesses refused by the per-IP lock pile up, they do not count towards the account-wide lock', async (t) => {
      const d = deps(t)
      const target = email()
      await Promise.all(Array.from({ length: 40 }, () => attempt(d, target, '203.0.113.8')))
      assert.equal(await attempt(d, target, '198.51.100.1', 'succeed'), 'checked', 'the owner elsewhere is not locked out')
    })

    it('when a lock ends and the guessing goes on, the next lock lasts twice as long, up to the cap', async (t) => {
      const d = deps(t, { ...DEFAULT_LOCKOUT, perIp: { failures: 1, windowS: 1, lockS: 1, maxLockS: 2 } })
      const target = email()
      const ip = '203.0.113.9'
      const observed: number[] = []
      for (let lock = 0; lock < 3; lock++) {
        await waitUntil(async () => (await attempt(d, target, ip)) === 'checked', { timeoutMs: 5000, intervalMs: 50, what: `lock ${lock} to end` })
        observed.push(await retryAfterOf(d, target, ip))
      }
      assert.deepEqual(observed, [1, 2, 2])
    })

    it('when the owner logs in successfully, earlier failures are forgotten but an active lock is not', async (t) => {
      const d = deps(t)
      const target = email()
      for (let i = 0; i < 4; i++) assert.equal(await attempt(d, target, '203.0.113.10'), 'checked')
      assert.equal(await attempt(d, target, '203.0.113.10', 'succeed'), 'checked')
      for (let i = 0; i < 5; i++) assert.equal(await attempt(d, target, '203.0.113.10'), 'checked', `fresh failure ${i + 1}`)
      assert.equal(await attempt(d, target, '203.0.113.10', 'succeed'), 'account_locked', 'the right password does not lift a lock')
    })

    it('when the account is unlocked (password reset), every per-IP and the account-wide lock are gone', async (t) => {
      const d = deps(t)
      const target = email()
      for (let i = 0; i < 5; i++) await attempt(d, target, '203.0.113.11')
      for (let ip = 0; ip < 4; ip++) for (let i = 0; i < 4; i++) await attempt(d, target, `198.51.100.${ip + 10}`)
      assert.equal(await attempt(d, target, '203.0.113.11'), 'account_locked')
      assert.equal(await attempt(d, target, '192.0.2.1'), 'account_locked', 'locked everywhere (20 failures)')

      await unlockAccount(d, ` ${target.toUpperCase()} `)

      assert.equal(await attempt(d, target, '192.0.2.1', 'succeed'), 'checked', 'account-wide lock lifted')
      for (let i = 0; i < 5; i++) assert.equal(await attempt(d, target, '203.0.113.11'), 'checked', `per-IP counter restarted (${i + 1})`)
      assert.equal(await attempt(d, target, '203.0.113.11'), 'account_locked', 'and locks again after 5 new failures')
    })

    it('when the store is unreachable, answers dependency_unavailable: no counting, no guessing', async (t) => {
      const d = deps(t)
      await d.kv.close()
      assert.equal(await attempt(d, email(), '203.0.113.12'), 'dependency_unavailable')
      await assert.rejects(unlockAccount(d, email()), (e: unknown) => e instanceof AppError && e.code === 'dependency_unavailable')
    })
  })
}

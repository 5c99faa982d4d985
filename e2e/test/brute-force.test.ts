import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { JsonResponse, TestClient } from '@platform/testkit'
import { authCounter, ownClient, registerUser } from '../src/auth-fixtures.ts'
import { assertProblem, RELAXED_RATE_LIMITS } from '../src/http-fixtures.ts'
import { GOOD_PASSWORD, startStack, uniqueEmail, type Stack } from '../src/stack.ts'

// CONTRACT §4 with the default LOCKOUT: 5 failures for one account from one IP in 5 minutes lock
// it for that IP; 20 from any IPs in 10 minutes lock it everywhere. The gateway's own login rate
// limits are relaxed here so that only the auth service's lockout is under test.

const WRONG = 'definitely not the password'
const login = (client: TestClient, email: string, password: string) => client.request('POST', '/auth/login', { json: { email, password } })

function assertLocked(res: JsonResponse, what: string): void {
  assertProblem(res, 423, 'account_locked', what)
  const retryAfter = Number(res.headers.get('retry-after'))
  assert.ok(Number.isInteger(retryAfter) && retryAfter > 0 && retryAfter <= 600, `${what}: Retry-After ${res.headers.get('retry-after')}`)
}

/** What a client can see of an answer, minus what differs per request. */
const visible = (res: JsonResponse) => ({ status: res.status, code: res.body.code, title: res.body.title, detail: res.body.detail, type: res.body.type })

describe('brute-force lockout', () => {
  let stack: Stack
  before(async () => {
    stack = await startStack({ RATE_LIMITS: RELAXED_RATE_LIMITS })
  })
  after(() => stack.stop())

  it('when 30 wrong guesses for one account arrive at once from one IP, at most 5 are checked against the hash and the rest answer 423', async (t) => {
    // Arrange
    const client = ownClient(t, stack)
    const user = await registerUser(client)
    const checksBefore = await authCounter(stack, 'auth_password_checks_total')

    // Act
    const answers = await Promise.all(Array.from({ length: 30 }, () => login(client, user.email, WRONG)))

    // Assert
    const checks = (await authCounter(stack, 'auth_password_checks_total')) - checksBefore
    const statuses = answers.map((res) => res.status)
    const wrong = answers.filter((res) => res.status === 401)
    for (const res of wrong) assertProblem(res, 401, 'invalid_credentials')
    for (const res of answers.filter((r) => r.status !== 401)) assertLocked(res, 'beyond the limit')
    assert.ok(wrong.length <= 5, `at most 5 invalid_credentials, got ${wrong.length}: ${statuses.join(',')}`)
    assert.ok(checks <= 5, `at most 5 password checks, got ${checks}`)
    assert.equal(checks, wrong.length, 'every 401 was a real check, every 423 was not')
    assert.ok((await authCounter(stack, 'auth_account_locks_total')) >= 1, 'the lock is counted')
  })

  it('when locked, the right password also answers 423, from that IP only, and the attempt is not checked', async (t) => {
    // Arrange
    const attacker = ownClient(t, stack)
    const owner = ownClient(t, stack)
    const user = await registerUser(attacker)
    for (let i = 0; i < 5; i++) assertProblem(await login(attacker, user.email, WRONG), 401, 'invalid_credentials', `failure ${i + 1}`)
    const checksBefore = await authCounter(stack, 'auth_password_checks_total')

    // Act
    const sixth = await login(attacker, user.email, GOOD_PASSWORD)
    const fromElsewhere = await login(owner, user.email, GOOD_PASSWORD)

    // Assert
    assertLocked(sixth, 'the 6th attempt, with the right password')
    assert.equal((await authCounter(stack, 'auth_password_checks_total')) - checksBefore, 1, 'only the other IP was checked')
    assert.equal(fromElsewhere.status, 200, `another IP is not locked: ${fromElsewhere.text}`)
    assertLocked(await login(attacker, user.email, GOOD_PASSWORD), 'a successful login elsewhere does not lift the lock')
  })

  it('when the account does not exist, the lock looks exactly the same', async (t) => {
    // Arrange
    const client = ownClient(t, stack)
    const existing = await registerUser(client)
    const ghost = uniqueEmail('ghost')
    const failures = { existing: [] as JsonResponse[], ghost: [] as JsonResponse[] }
    for (let i = 0; i < 5; i++) {
      failures.existing.push(await login(client, existing.email, WRONG))
      failures.ghost.push(await login(client, ghost, WRONG))
    }

    // Act
    const lockedExisting = await login(client, existing.email, WRONG)
    const lockedGhost = await login(client, ghost, WRONG)

    // Assert
    assert.deepEqual(failures.ghost.map(visible), failures.existing.map(visible), 'the same 401s')
    assertLocked(lockedExisting, 'existing account')
    assertLocked(lockedGhost, 'unknown account')
    assert.deepEqual(visible(lockedGhost), visible(lockedExisting), 'the same 423')
  })

  it('when 20 failures come from several IPs, the account locks for every IP, right password or not', async (t) => {
    // Arrange: 5 IPs × 4 failures stays under every per-IP limit.
    const user = await registerUser(ownClient(t, stack))
    for (let ip = 0; ip < 5; ip++) {
      const client = ownClient(t, stack)
      for (let i = 0; i < 4; i++) assertProblem(await login(client, user.email, WRONG), 401, 'invalid_credentials', `ip ${ip} failure ${i + 1}`)
    }

    // Act
    const newcomer = await login(ownClient(t, stack), user.email, GOOD_PASSWORD)

    // Assert
    assertLocked(newcomer, 'a fresh IP with the right password')
    assertLocked(await login(ownClient(t, stack), user.email, WRONG), 'another fresh IP')
  })
})

import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { infraUrl, waitUntil } from '@platform/testkit'
import { RELAXED_RATE_LIMITS } from '../src/http-fixtures.ts'
import { startPostgres, stopPostgres, whyPostgresIsNotControllable } from '../src/postgres-control.ts'
import { expectOneRecordAndOneMailEach, registerUsers, type RegisteredUser } from '../src/registration-fixtures.ts'
import { GOOD_PASSWORD, startStack, uniqueEmail, type Stack } from '../src/stack.ts'

const databaseUrl = infraUrl('DATABASE_URL')
const BEFORE_STOP = 15
const AFTER_START = 15
/** The services' pools reconnect on the next query; this only bounds a hang. */
const HEALED_WITHIN_MS = 30_000
/** Generous: consumers retry with back-off while the database is away. */
const EVERYTHING_DELIVERED_WITHIN_MS = 180_000

// Serial (scripts/run-tests.mjs runs *.serial.test.ts one at a time after every other test): it
// stops the shared PostgreSQL, which every other test needs. It is always started again, also
// when the test fails.
const unusable = databaseUrl ? await whyPostgresIsNotControllable(databaseUrl) : 'needs DATABASE_URL'
if (unusable && process.env.REQUIRE_INFRA === '1') throw new Error(`REQUIRE_INFRA=1 but PostgreSQL cannot be stopped and started here: ${unusable}`)

describe('PostgreSQL stopped and started while users register', { skip: unusable && `the database cannot be restarted from here: ${unusable}` }, () => {
  let stack: Stack
  before(async () => {
    // LOG_LEVEL error: every relay and consumer logs each failed attempt while the database is away.
    stack = await startStack({ RATE_LIMITS: RELAXED_RATE_LIMITS, NOTIFICATION_POLL_MS: '100', LOG_LEVEL: 'error' })
  })
  after(async () => {
    // Whatever happened above: the shared database runs again before anything else.
    await startPostgres(databaseUrl!)
    await stack?.stop()
  })

  const register = async () => {
    const email = uniqueEmail('pg-retry')
    const res = await stack.client.request('POST', '/auth/register', { json: { email, password: GOOD_PASSWORD } })
    return { res, email }
  }

  it('when the database restarts mid-flow, requests meanwhile answer 503, every service heals by itself, and each registration gets exactly one audit record and one mail', async () => {
    // Arrange: registrations whose events are still on their way through relay, broker, audit and notification.
    const users: RegisteredUser[] = await registerUsers(stack.client, BEFORE_STOP, { tag: 'pg-before' })

    // Act
    await stopPostgres()
    let during
    try {
      during = (await register()).res
    } finally {
      await startPostgres(databaseUrl!)
    }

    // Assert: refused as an outage, not as a bug, and nothing was created.
    assert.equal(during.status, 503, during.text)
    assert.equal(during.body.code, 'dependency_unavailable')
    assert.ok(Number(during.headers.get('retry-after')) > 0)
    // No service was restarted: the first registration that goes through shows the pools reconnected.
    await waitUntil(
      async () => {
        const { res, email } = await register()
        if (res.status === 201) users.push({ id: res.body.id as string, email })
        return res.status === 201
      },
      { timeoutMs: HEALED_WITHIN_MS, intervalMs: 200, what: 'a registration to go through again' },
    )
    users.push(...(await registerUsers(stack.client, AFTER_START, { tag: 'pg-after' })))
    assert.equal(new Set(users.map((u) => u.id)).size, users.length)
    await expectOneRecordAndOneMailEach(stack, users, EVERYTHING_DELIVERED_WITHIN_MS)
  })
})

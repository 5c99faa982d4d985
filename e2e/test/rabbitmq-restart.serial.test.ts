import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { infraUrl } from '@platform/testkit'
import { startBroker, stopBroker, whyBrokerIsNotControllable } from '../src/broker-control.ts'
import { RELAXED_RATE_LIMITS } from '../src/http-fixtures.ts'
import { expectOneRecordAndOneMailEach, registerUsers, type RegisteredUser } from '../src/registration-fixtures.ts'
import { startStack, type Stack } from '../src/stack.ts'

const amqpUrl = infraUrl('AMQP_URL')
const BEFORE_STOP = 15
const WHILE_STOPPED = 20
const WHILE_STARTING = 15
/** Generous: the outbox relays back off up to a minute while the broker is away. */
const EVERYTHING_DELIVERED_WITHIN_MS = 180_000

// Serial (scripts/run-tests.mjs runs *.serial.test.ts one at a time after every other test): it
// stops the shared RabbitMQ, which would break any test running beside it. The broker is down only
// while 20 registrations go through, and is always started again, also when the test fails.
const unusable = amqpUrl ? await whyBrokerIsNotControllable(amqpUrl) : 'needs AMQP_URL'
if (unusable && process.env.REQUIRE_INFRA === '1') throw new Error(`REQUIRE_INFRA=1 but RabbitMQ cannot be stopped and started here: ${unusable}`)

describe('RabbitMQ stopped and started while users register', { skip: unusable && `the broker cannot be restarted from here: ${unusable}` }, () => {
  let stack: Stack
  before(async () => {
    // LOG_LEVEL error: every relay logs each failed publish while the broker is away.
    stack = await startStack({ RATE_LIMITS: RELAXED_RATE_LIMITS, NOTIFICATION_POLL_MS: '100', LOG_LEVEL: 'error' })
  })
  after(async () => {
    // Whatever happened above: the shared broker runs again before anything else.
    await startBroker()
    await stack?.stop()
  })

  it('when the broker is stopped and started during 50 registrations, each gets exactly one audit record and one verification mail', async () => {
    const users: RegisteredUser[] = await registerUsers(stack.client, BEFORE_STOP, { tag: 'fault-before' })

    await stopBroker()
    try {
      // Registration needs no broker: each event waits in auth's outbox.
      users.push(...(await registerUsers(stack.client, WHILE_STOPPED, { tag: 'fault-during' })))
    } catch (error) {
      await startBroker()
      throw error
    }
    const starting = startBroker()
    // Awaited below; if it fails meanwhile, that must not surface as an unhandled rejection.
    starting.catch(() => undefined)
    users.push(...(await registerUsers(stack.client, WHILE_STARTING, { tag: 'fault-after' })))
    await starting

    assert.equal(new Set(users.map((u) => u.id)).size, BEFORE_STOP + WHILE_STOPPED + WHILE_STARTING)
    await expectOneRecordAndOneMailEach(stack, users, EVERYTHING_DELIVERED_WITHIN_MS)
  })
})

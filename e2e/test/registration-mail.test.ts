import { after, before, describe, it } from 'node:test'
import { RELAXED_RATE_LIMITS } from '../src/http-fixtures.ts'
import { expectOneRecordAndOneMailEach, registerUsers } from '../src/registration-fixtures.ts'
import { startStack, type Stack } from '../src/stack.ts'

const USERS = 50

// The whole path of a registration: auth's outbox → the broker → audit and notification, each
// once per event. The same story with RabbitMQ stopped half-way is rabbitmq-restart.serial.test.ts.
describe('registrations through the gateway, end to end', () => {
  let stack: Stack
  before(async () => {
    stack = await startStack({ RATE_LIMITS: RELAXED_RATE_LIMITS, NOTIFICATION_POLL_MS: '100' })
  })
  after(() => stack?.stop())

  it('when 50 users register, each gets exactly one auth.user.registered audit record and one verification mail', async () => {
    const users = await registerUsers(stack.client, USERS, { tag: 'mail50' })

    await expectOneRecordAndOneMailEach(stack, users, 60_000)
  })
})

import assert from 'node:assert/strict'
import { execFile, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { promisify } from 'node:util'
import { describe, it } from 'node:test'
import { infraUrl, waitUntil } from '@platform/testkit/infra'
import { createAmqpBus } from '../src/amqp-bus.ts'
import { BusUnavailableError, type DeliveryMeta } from '../src/bus.ts'
import { createEnvelope, type EventEnvelope } from '../src/envelope.ts'

const run = promisify(execFile)
const url = infraUrl('AMQP_URL')
// Stopping the shared broker would break the runs beside this one, so the test closes only its
// own connection from the server side, found by its connection_name.
const hasRabbitmqctl = url !== undefined && spawnSync('rabbitmqctl', ['-q', 'status']).status === 0
if (url && !hasRabbitmqctl && process.env.REQUIRE_INFRA === '1') {
  throw new Error('rabbitmqctl does not answer but REQUIRE_INFRA=1 demands the reconnect test')
}
const RECOVER_WITHIN_MS = 15_000

describe('amqp bus: connection closed by the broker', { skip: !hasRabbitmqctl }, () => {
  it('when the broker closes the connection, the bus reconnects, re-attaches the subscription and publishes again', async (t) => {
    const id = randomBytes(4).toString('hex')
    const connectionName = `test-bus-reconnect-${id}`
    const exchange = `test.bus.${id}.reconnect`
    const queue = `${exchange}.q`
    const lines: string[] = []
    const log = {
      info: (_: object, msg?: string) => void lines.push(`info ${msg}`),
      warn: (_: object, msg?: string) => void lines.push(`warn ${msg}`),
      error: (_: object, msg?: string) => void lines.push(`error ${msg}`),
    }
    const bus = createAmqpBus({ url: url!, connectionName, log })
    const received: { envelope: EventEnvelope; meta: DeliveryMeta }[] = []
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const subscription = await bus.subscribe(
      queue,
      ['auth.#'],
      async (envelope, meta) => {
        received.push({ envelope, meta })
        if (envelope.data.hold && !meta.redelivered) await gate
      },
      { exchange },
    )
    t.after(async () => {
      release()
      await subscription.close()
      await bus.deleteQueue(queue)
      await bus.deleteExchange(exchange)
      await bus.close()
    })
    const before = event({ step: 'before' })
    await bus.publish(before, { exchange })
    const held = event({ step: 'held', hold: true })
    await bus.publish(held, { exchange })
    await waitUntil(() => received.some((r) => r.envelope.id === held.id), {
      what: 'the held event to reach its handler',
    })
    const [oldConnection] = await connectionsNamed(connectionName)
    assert.ok(oldConnection, `no broker connection named ${connectionName}`)

    await run('rabbitmqctl', ['-q', 'close_connection', oldConnection, 'test: forced close'])
    release()

    let after: EventEnvelope | undefined
    await waitUntil(
      async () => {
        const candidate = event({ step: 'after' })
        try {
          await bus.publish(candidate, { exchange })
          after = candidate
          return true
        } catch (err) {
          if (err instanceof BusUnavailableError) return false
          throw err
        }
      },
      { timeoutMs: RECOVER_WITHIN_MS, intervalMs: 100, what: 'publish to work again' },
    )
    await waitUntil(() => received.some((r) => r.envelope.id === after!.id), {
      timeoutMs: RECOVER_WITHIN_MS,
      what: 'the re-attached subscription to get the event published after the reconnect',
    })

    const [newConnection] = await connectionsNamed(connectionName)
    assert.ok(newConnection && newConnection !== oldConnection, 'expected a new connection')
    assert.ok(lines.includes('warn amqp connection lost; reconnecting'), lines.join('\n'))
    // The held event's ack died with the old channel, so the broker handed it out again.
    const heldDeliveries = received.filter((r) => r.envelope.id === held.id)
    assert.deepEqual(
      heldDeliveries.map((r) => r.meta.redelivered),
      [false, true],
    )
    assert.equal(received.filter((r) => r.envelope.id === before.id).length, 1)
  })
})

function event(data: Record<string, unknown>): EventEnvelope {
  return createEnvelope({ type: 'auth.login.failed', source: 'test', data })
}

/** The broker's process ids of the connections with this connection_name, for close_connection. */
async function connectionsNamed(connectionName: string): Promise<string[]> {
  // The table format, not JSON: JSON prints pids as `#PID<…>`, which close_connection refuses.
  const { stdout } = await run('rabbitmqctl', [
    '-q',
    'list_connections',
    '--no-table-headers',
    'pid',
    'client_properties',
  ])
  const property = `{"connection_name","${connectionName}"}`
  return stdout
    .split('\n')
    .filter((line) => line.includes(property))
    .map((line) => line.split('\t')[0]!)
}

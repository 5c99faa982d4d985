import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { createServer, type Socket } from 'node:net'
import { describe, it } from 'node:test'
import { infraUrl, waitUntil } from '@platform/testkit/infra'
import { createAmqpBus } from '../src/amqp-bus.ts'
import { describeBusContract } from '../src/bus.contract.ts'
import { BusUnavailableError } from '../src/bus.ts'
import { createEnvelope, type EventEnvelope } from '../src/envelope.ts'

const url = infraUrl('AMQP_URL')
// Generous: the bus gives up after timeoutMs (300 ms here); this only catches a hang.
const REJECT_WITHIN_MS = 3_000

describeBusContract('amqp', async () => createAmqpBus({ url: url! }), { skip: !url })

describe('amqp bus: confirms', { skip: !url }, () => {
  it('when publish resolved and the publisher closes at once, a new connection still reads the event', async (t) => {
    const exchange = `test.bus.${randomBytes(4).toString('hex')}.confirm`
    const queue = `${exchange}.q`
    const reader = createAmqpBus({ url: url! })
    const subscriptions: { close(): Promise<void> }[] = []
    t.after(async () => {
      // Closed first: a live subscription would declare its deleted queue again.
      await Promise.all(subscriptions.map((s) => s.close()))
      await reader.deleteQueue(queue)
      await reader.deleteExchange(exchange)
      await reader.close()
    })
    const declared = await reader.subscribe(queue, ['#'], async () => {}, { exchange })
    await declared.close()
    const publisher = createAmqpBus({ url: url! })

    const events = Array.from({ length: 20 }, (_, seq) =>
      createEnvelope({ type: 'auth.login.failed', source: 'test', data: { seq } }),
    )
    await Promise.all(events.map((e) => publisher.publish(e, { exchange })))
    await publisher.close()

    const received: EventEnvelope[] = []
    subscriptions.push(
      await reader.subscribe(queue, ['#'], async (e) => void received.push(e), { exchange }),
    )
    await waitUntil(() => received.length === 20, { what: '20 events' })
    assert.deepEqual(new Set(received.map((e) => e.id)), new Set(events.map((e) => e.id)))
  })
})

describe('amqp bus: broker unreachable', () => {
  it('when nothing listens on the port, publish, subscribe and ping reject with BusUnavailableError', async (t) => {
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as { port: number }
    await new Promise<void>((resolve) => server.close(() => resolve()))
    const bus = createAmqpBus({ url: `amqp://guest:guest@127.0.0.1:${port}`, timeoutMs: 300 })
    t.after(() => bus.close())
    const event = createEnvelope({ type: 'auth.ping', source: 'test', data: {} })

    await rejectsUnavailable(bus.publish(event))
    await rejectsUnavailable(bus.subscribe('test.bus.unreachable', ['#'], async () => {}))
    await rejectsUnavailable(bus.ping())
  })

  it('when the broker accepts the socket but never answers, publish rejects after the timeout', async (t) => {
    const sockets = new Set<Socket>()
    const server = createServer((socket) => {
      sockets.add(socket)
      socket.on('error', () => {})
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    t.after(async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    })
    const { port } = server.address() as { port: number }
    const bus = createAmqpBus({ url: `amqp://guest:guest@127.0.0.1:${port}`, timeoutMs: 300 })
    t.after(() => bus.close())
    const event = createEnvelope({ type: 'auth.ping', source: 'test', data: {} })

    await rejectsUnavailable(bus.publish(event))
    await rejectsUnavailable(bus.ping())
  })
})

async function rejectsUnavailable(call: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no rejection within ${REJECT_WITHIN_MS} ms`)),
      REJECT_WITHIN_MS,
    )
  })
  try {
    await assert.rejects(Promise.race([call, hang]), (err: unknown) => {
      assert.ok(
        err instanceof BusUnavailableError,
        `expected BusUnavailableError, got ${String(err)}`,
      )
      return true
    })
  } finally {
    clearTimeout(timer)
  }
}

import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import amqp from 'amqplib'
import { infraUrl } from '@platform/testkit/infra'
import { batchWritesPerTurn } from '../src/write-batching.ts'

const url = infraUrl('AMQP_URL')
const MESSAGES = 200

/** Counts the socket's writes as Node hands them to the system: one per `_write`, one per `_writev`. */
function countWrites(connection: unknown): { writes: number } {
  const socket = (connection as { connection: { stream: { _write: (...a: unknown[]) => unknown; _writev?: (...a: unknown[]) => unknown } } }).connection.stream
  const counter = { writes: 0 }
  const write = socket._write.bind(socket)
  const writev = socket._writev?.bind(socket)
  socket._write = (...args) => (counter.writes++, write(...args))
  if (writev) socket._writev = (...args) => (counter.writes++, writev(...args))
  return counter
}

describe('amqp write batching', { skip: !url }, () => {
  for (const batched of [false, true]) {
    it(`when ${MESSAGES} messages are published in one turn${batched ? ' on a batched connection' : ''}, all arrive in order ${batched ? 'and leave in a handful of writes' : 'with one write each'}`, async (t) => {
      // Arrange
      const connection = await amqp.connect(url!)
      t.after(() => connection.close().catch(() => {}))
      if (batched) assert.equal(batchWritesPerTurn(connection), true)
      const channel = await connection.createConfirmChannel()
      const { queue } = await channel.assertQueue(`test.write-batching.${randomBytes(4).toString('hex')}`, { exclusive: true })
      const counter = countWrites(connection)

      // Act
      for (let i = 0; i < MESSAGES; i++) channel.sendToQueue(queue, Buffer.from(String(i)))
      await channel.waitForConfirms()
      const writes = counter.writes

      // Assert
      const received: string[] = []
      for (;;) {
        const message = await channel.get(queue, { noAck: true })
        if (!message) break
        received.push(message.content.toString())
      }
      assert.deepEqual(received, Array.from({ length: MESSAGES }, (_, i) => String(i)))
      if (batched) assert.ok(writes <= 10, `${writes} writes for ${MESSAGES} messages`)
      else assert.ok(writes >= MESSAGES, `${writes} writes for ${MESSAGES} messages`)
    })
  }

  it('when the connection has no socket where amqplib keeps it, nothing is changed and the caller is told', () => {
    assert.equal(batchWritesPerTurn({}), false)
    assert.equal(batchWritesPerTurn(undefined), false)
  })
})

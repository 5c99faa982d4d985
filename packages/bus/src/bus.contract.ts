import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it, type TestContext } from 'node:test'
import { waitUntil } from '@platform/testkit/infra'
import {
  BusUnavailableError,
  type EventHandler,
  type InspectableBus,
  type SubscribeOptions,
} from './bus.ts'
import { createEnvelope, InvalidEnvelopeError, type EventEnvelope } from './envelope.ts'

// Retries run on the real schedule (200 ms, 400 ms, …), so waits that span them get room.
const DELIVERY_TIMEOUT_MS = 10_000

type Received = { envelope: EventEnvelope; attempt: number }

/** One test's view of the bus: its own exchange and queue names, all removed after the test. */
type Harness = {
  bus: InspectableBus
  exchange: string
  /** Another exchange of this test, deleted with it. */
  exchangeName(label: string): string
  queueName(label: string): string
  subscribe(
    queue: string,
    patterns: string[],
    handler?: EventHandler,
    /** `exchange` defaults to the test's own. */
    opts?: SubscribeOptions,
  ): Promise<{ received: Received[]; close(): Promise<void> }>
  publish(type: string, data?: Record<string, unknown>): Promise<EventEnvelope>
}

/**
 * The behaviour every {@link InspectableBus} must have, as a `node:test` suite: run it once per
 * implementation. `open` is called once per test and must give a working bus; the suite closes
 * it. Each test uses its own exchange and queues (`test.bus.<run>.<n>…`) and deletes them
 * afterwards, so parallel runs against one shared RabbitMQ never see each other's messages.
 * `opts` goes to `describe`, so `{ skip: !url }` skips the suite without a broker.
 *
 * @example
 * const url = infraUrl('AMQP_URL')
 * describeBusContract('amqp', async () => createAmqpBus({ url: url! }), { skip: !url })
 */
export function describeBusContract(
  name: string,
  open: () => Promise<InspectableBus>,
  opts: { skip?: boolean } = {},
): void {
  const run = randomBytes(4).toString('hex')
  let testNumber = 0

  async function harness(t: TestContext): Promise<Harness> {
    const bus = await open()
    const exchange = `test.bus.${run}.${++testNumber}`
    const exchanges = [exchange]
    const queues: string[] = []
    const subscriptions: { close(): Promise<void> }[] = []
    t.after(async () => {
      await Promise.allSettled(subscriptions.map((s) => s.close()))
      for (const queue of queues) await bus.deleteQueue(queue).catch(() => {})
      for (const name of exchanges) await bus.deleteExchange(name).catch(() => {})
      await bus.close()
    })
    return {
      bus,
      exchange,
      exchangeName(label) {
        const name = `${exchange}.${label}`
        exchanges.push(name)
        return name
      },
      queueName(label) {
        const queue = `${exchange}.${label}`
        queues.push(queue)
        return queue
      },
      async subscribe(queue, patterns, handler, subscribeOpts = {}) {
        const received: Received[] = []
        const subscription = await bus.subscribe(
          queue,
          patterns,
          async (envelope, meta) => {
            received.push({ envelope, attempt: meta.attempt })
            await handler?.(envelope, meta)
          },
          { exchange, ...subscribeOpts },
        )
        // Closed before the queues are deleted: a live consumer would declare them again.
        subscriptions.push(subscription)
        return { received, close: () => subscription.close() }
      },
      async publish(type, data = {}) {
        const envelope = createEnvelope({ type, source: 'contract', data })
        await bus.publish(envelope, { exchange })
        return envelope
      },
    }
  }

  describe(`${name}: Bus contract`, opts, () => {
    describe('routing', () => {
      it('when events are published, each queue gets exactly those its patterns match', async (t) => {
        const h = await harness(t)
        const queues = {
          authStar: await h.subscribe(h.queueName('auth-star'), ['auth.*']),
          all: await h.subscribe(h.queueName('all'), ['#']),
          exact: await h.subscribe(h.queueName('exact'), ['license.license.issued']),
          authHash: await h.subscribe(h.queueName('auth-hash'), ['auth.#']),
          two: await h.subscribe(h.queueName('two'), ['auth.login.failed', 'license.#']),
        }

        for (const type of [
          'auth.login.failed',
          'auth.ping',
          'license.license.issued',
          'license.license.activated',
        ]) {
          await h.publish(type)
        }
        // With prefetch 1 a queue delivers in order, so once its sentinel arrived, everything
        // published before it for that queue has arrived too.
        await h.publish('auth.done', { sentinel: true })
        await h.publish('license.license.issued', { sentinel: true })

        const sentinels = { authStar: 1, all: 2, exact: 1, authHash: 1, two: 1 }
        for (const [key, count] of Object.entries(sentinels)) {
          const { received } = queues[key as keyof typeof queues]
          await waitUntil(() => received.filter((r) => r.envelope.data.sentinel).length === count, {
            timeoutMs: DELIVERY_TIMEOUT_MS,
            what: `the sentinels of queue ${key}`,
          })
        }
        const types = (received: Received[]) =>
          received.filter((r) => !r.envelope.data.sentinel).map((r) => r.envelope.type)
        assert.deepEqual(types(queues.authStar.received), ['auth.ping'])
        assert.deepEqual(types(queues.all.received), [
          'auth.login.failed',
          'auth.ping',
          'license.license.issued',
          'license.license.activated',
        ])
        assert.deepEqual(types(queues.exact.received), ['license.license.issued'])
        assert.deepEqual(types(queues.authHash.received), ['auth.login.failed', 'auth.ping'])
        assert.deepEqual(types(queues.two.received), [
          'auth.login.failed',
          'license.license.issued',
          'license.license.activated',
        ])
      })

      it('when two queues are bound to the same key, each gets its own copy once', async (t) => {
        const h = await harness(t)
        const first = await h.subscribe(h.queueName('copy-a'), ['auth.user.registered'])
        const second = await h.subscribe(h.queueName('copy-b'), ['auth.user.registered'])

        const event = await h.publish('auth.user.registered', { user_id: 'u1' })
        const done = await h.publish('auth.user.registered', { sentinel: true })

        for (const { received } of [first, second]) {
          await waitUntil(() => received.some((r) => r.envelope.id === done.id), {
            timeoutMs: DELIVERY_TIMEOUT_MS,
            what: 'both copies',
          })
          assert.deepEqual(
            received.map((r) => r.envelope.id),
            [event.id, done.id],
          )
          assert.deepEqual(received[0]!.envelope, event)
        }
      })

      it('when events are published to another exchange, the queue does not see them', async (t) => {
        const h = await harness(t)
        const other = h.exchangeName('other')
        const queue = await h.subscribe(h.queueName('own-exchange'), ['#'])

        await h.bus.publish(createEnvelope({ type: 'auth.ping', source: 'contract', data: {} }), {
          exchange: other,
        })
        const done = await h.publish('auth.done')

        await waitUntil(() => queue.received.length > 0, { timeoutMs: DELIVERY_TIMEOUT_MS })
        assert.deepEqual(
          queue.received.map((r) => r.envelope.id),
          [done.id],
        )
      })
    })

    describe('publishing', () => {
      it('when publish resolves, the event is stored in the bound queue, consumer or not', async (t) => {
        const h = await harness(t)
        const queue = h.queueName('stored')
        const declared = await h.subscribe(queue, ['auth.#'])
        await declared.close()

        const published = [
          await h.publish('auth.user.registered', { n: 1 }),
          await h.publish('auth.login.failed', { n: 2 }),
        ]
        const later = await h.subscribe(queue, ['auth.#'])

        await waitUntil(() => later.received.length === 2, { timeoutMs: DELIVERY_TIMEOUT_MS })
        assert.deepEqual(
          later.received.map((r) => r.envelope),
          published,
        )
      })

      it('when a raw body is published, the queues its routing key matches get it byte for byte', async (t) => {
        const h = await harness(t)
        const records = h.exchangeName('records')
        const matching = h.queueName('raw-matching')
        const other = h.queueName('raw-other')
        // Raw bodies are not envelopes: a `subscribe` consumer parks them, which is how the
        // contract reads them back unchanged.
        await h.subscribe(matching, ['auth.#'], undefined, { exchange: records })
        await h.subscribe(other, ['license.#'], undefined, { exchange: records })
        const body = JSON.stringify({ seq: 7, action: 'auth.login.failed', details: { é: '✓' } })

        await h.bus.publishRaw('auth.login.failed', body, { exchange: records })

        await waitUntil(async () => (await h.bus.deadLetters(matching)).length === 1, {
          timeoutMs: DELIVERY_TIMEOUT_MS,
          what: 'the raw body',
        })
        assert.equal((await h.bus.deadLetters(matching))[0]?.body, body)
        assert.deepEqual(await h.bus.deadLetters(other), [])
      })

      it('when an envelope is malformed, publish rejects with InvalidEnvelopeError', async (t) => {
        const h = await harness(t)
        const valid = createEnvelope({ type: 'auth.ping', source: 'contract', data: {} })

        for (const bad of [
          { ...valid, id: 'not-a-uuid' },
          { ...valid, type: 'auth' },
          { ...valid, type: 'auth.#' },
          { ...valid, occurred_at: 'yesterday' },
          { ...valid, data: 'text' },
        ]) {
          await assert.rejects(
            h.bus.publish(bad as EventEnvelope, { exchange: h.exchange }),
            InvalidEnvelopeError,
          )
        }
      })

      it('when the bus is closed, publish, subscribe and ping reject with BusUnavailableError', async (t) => {
        const h = await harness(t)
        const envelope = createEnvelope({ type: 'auth.ping', source: 'contract', data: {} })

        await h.bus.close()
        await h.bus.close()

        await assert.rejects(h.bus.publish(envelope, { exchange: h.exchange }), BusUnavailableError)
        await assert.rejects(
          h.bus.subscribe(h.queueName('closed'), ['#'], async () => {}, { exchange: h.exchange }),
          BusUnavailableError,
        )
        await assert.rejects(h.bus.ping(), BusUnavailableError)
      })
    })

    describe('consuming', () => {
      it('when prefetch is 1, a queue delivers in publish order, one at a time', async (t) => {
        const h = await harness(t)
        let running = 0
        let maxRunning = 0
        const queue = await h.subscribe(
          h.queueName('ordered'),
          ['auth.#'],
          async () => {
            running++
            maxRunning = Math.max(maxRunning, running)
            await new Promise((resolve) => setTimeout(resolve, 2))
            running--
          },
          { prefetch: 1 },
        )

        for (let seq = 0; seq < 30; seq++) await h.publish('auth.login.failed', { seq })

        await waitUntil(() => queue.received.length === 30, { timeoutMs: DELIVERY_TIMEOUT_MS })
        assert.deepEqual(
          queue.received.map((r) => r.envelope.data.seq),
          Array.from({ length: 30 }, (_, i) => i),
        )
        assert.equal(maxRunning, 1)
      })

      it('when prefetch is 4, up to 4 handlers run at once on one queue', async (t) => {
        const h = await harness(t)
        let running = 0
        let maxRunning = 0
        let release!: () => void
        const gate = new Promise<void>((resolve) => (release = resolve))
        const queue = await h.subscribe(
          h.queueName('parallel'),
          ['auth.#'],
          async () => {
            running++
            maxRunning = Math.max(maxRunning, running)
            await gate
            running--
          },
          { prefetch: 4 },
        )

        for (let seq = 0; seq < 6; seq++) await h.publish('auth.login.failed', { seq })
        await waitUntil(() => running === 4, { timeoutMs: DELIVERY_TIMEOUT_MS, what: '4 running' })
        release()

        await waitUntil(() => queue.received.length === 6, { timeoutMs: DELIVERY_TIMEOUT_MS })
        assert.equal(maxRunning, 4)
      })

      it('when a handler throws twice then succeeds, it sees attempts 1, 2, 3 and the event is acked once', async (t) => {
        const h = await harness(t)
        const queueName = h.queueName('flaky')
        const queue = await h.subscribe(
          queueName,
          ['auth.#'],
          async (envelope, meta) => {
            if (envelope.data.flaky && meta.attempt < 3) throw new Error(`flaky ${meta.attempt}`)
          },
          { maxAttempts: 5 },
        )

        const flaky = await h.publish('auth.login.failed', { flaky: true })
        await waitUntil(
          () => queue.received.some((r) => r.envelope.id === flaky.id && r.attempt === 3),
          { timeoutMs: DELIVERY_TIMEOUT_MS, what: 'the third attempt' },
        )
        // An unacked message goes back to the queue when its consumer closes, ahead of anything
        // published later; so once the sentinel is through, a missing ack would have shown.
        await queue.close()
        const reopened = await h.subscribe(queueName, ['auth.#'])
        const sentinel = await h.publish('auth.login.succeeded')
        await waitUntil(() => reopened.received.some((r) => r.envelope.id === sentinel.id), {
          timeoutMs: DELIVERY_TIMEOUT_MS,
        })

        assert.deepEqual(
          queue.received.filter((r) => r.envelope.id === flaky.id).map((r) => r.attempt),
          [1, 2, 3],
        )
        assert.deepEqual(
          reopened.received.map((r) => r.envelope.id),
          [sentinel.id],
        )
        assert.deepEqual(await h.bus.deadLetters(queueName), [])
      })

      it('when a handler always throws, the event is dead-lettered after maxAttempts and the next one is still handled', async (t) => {
        const h = await harness(t)
        const queueName = h.queueName('poison')
        const queue = await h.subscribe(
          queueName,
          ['auth.#'],
          async (envelope) => {
            if (envelope.data.poison) throw new Error('cannot handle this one')
          },
          { maxAttempts: 3 },
        )

        const poison = await h.publish('auth.login.failed', { poison: true })
        const next = await h.publish('auth.login.failed', { poison: false })

        await waitUntil(() => queue.received.some((r) => r.envelope.id === next.id), {
          timeoutMs: DELIVERY_TIMEOUT_MS,
          what: 'the event behind the failing one',
        })
        await waitUntil(async () => (await h.bus.deadLetters(queueName)).length === 1, {
          timeoutMs: DELIVERY_TIMEOUT_MS,
          what: 'the dead letter',
        })
        const [letter] = await h.bus.deadLetters(queueName)
        assert.equal(letter?.reason, 'failed')
        assert.equal(letter?.attempts, 3)
        assert.equal(letter?.error, 'cannot handle this one')
        assert.deepEqual(letter?.envelope, poison)
        assert.deepEqual(
          queue.received.filter((r) => r.envelope.id === poison.id).map((r) => r.attempt),
          [1, 2, 3],
        )
        assert.deepEqual(
          queue.received.filter((r) => r.envelope.id === next.id).map((r) => r.attempt),
          [1],
        )
      })

      it('when maxAttempts is 1, a failing event goes to the dead-letter queue without a retry', async (t) => {
        const h = await harness(t)
        const queueName = h.queueName('no-retry')
        const queue = await h.subscribe(
          queueName,
          ['auth.#'],
          async () => {
            throw new Error('no')
          },
          { maxAttempts: 1 },
        )

        const event = await h.publish('auth.login.failed')

        await waitUntil(async () => (await h.bus.deadLetters(queueName)).length === 1, {
          timeoutMs: DELIVERY_TIMEOUT_MS,
        })
        assert.deepEqual(
          queue.received.map((r) => [r.envelope.id, r.attempt]),
          [[event.id, 1]],
        )
      })

      it('when a message is not a valid envelope, it goes to the dead-letter queue unseen by the handler', async (t) => {
        const h = await harness(t)
        const queueName = h.queueName('invalid')
        const queue = await h.subscribe(queueName, ['auth.#'])

        await h.bus.publishRaw('auth.garbage', 'not json at all', { exchange: h.exchange })
        await h.bus.publishRaw('auth.garbage', JSON.stringify({ hello: 'world' }), {
          exchange: h.exchange,
        })
        const valid = await h.publish('auth.login.failed')

        await waitUntil(() => queue.received.length === 1, { timeoutMs: DELIVERY_TIMEOUT_MS })
        await waitUntil(async () => (await h.bus.deadLetters(queueName)).length === 2, {
          timeoutMs: DELIVERY_TIMEOUT_MS,
          what: 'two dead letters',
        })
        assert.equal(queue.received[0]?.envelope.id, valid.id)
        const letters = await h.bus.deadLetters(queueName)
        assert.deepEqual(
          letters.map((l) => [l.body, l.reason, l.attempts, l.envelope]),
          [
            ['not json at all', 'invalid', 0, undefined],
            ['{"hello":"world"}', 'invalid', 0, undefined],
          ],
        )
        assert.match(letters[0]!.error, /JSON/)
        assert.match(letters[1]!.error, /id/)
        // Reading the letters left them in place, and counting takes none out either.
        await waitUntil(async () => (await h.bus.deadLetterCount(queueName)) === 2, {
          timeoutMs: DELIVERY_TIMEOUT_MS,
          what: 'a dead-letter count of 2',
        })
        assert.equal((await h.bus.deadLetters(queueName)).length, 2)
        assert.equal(await h.bus.deadLetterCount(h.queueName('never-subscribed')), 0)
      })

      it('when two subscriptions share a queue, each event goes to one of them', async (t) => {
        const h = await harness(t)
        const queueName = h.queueName('competing')
        const first = await h.subscribe(queueName, ['auth.#'])
        const second = await h.subscribe(queueName, ['auth.#'])

        for (let seq = 0; seq < 20; seq++) await h.publish('auth.login.failed', { seq })

        const total = () => first.received.length + second.received.length
        await waitUntil(() => total() === 20, { timeoutMs: DELIVERY_TIMEOUT_MS })
        const seqs = [...first.received, ...second.received].map((r) => r.envelope.data.seq)
        assert.deepEqual(
          (seqs as number[]).sort((a, b) => a - b),
          Array.from({ length: 20 }, (_, i) => i),
        )
        assert.ok(first.received.length > 0 && second.received.length > 0)
      })

      it('when a subscription is closed, it waits for its running handler and gets nothing more', async (t) => {
        const h = await harness(t)
        const queueName = h.queueName('closing')
        let finished = 0
        let release!: () => void
        const gate = new Promise<void>((resolve) => (release = resolve))
        const queue = await h.subscribe(queueName, ['auth.#'], async () => {
          await gate
          finished++
        })
        await h.publish('auth.login.failed', { seq: 1 })
        await waitUntil(() => queue.received.length === 1, { timeoutMs: DELIVERY_TIMEOUT_MS })

        const closing = queue.close()
        setTimeout(release, 50)
        await closing
        const finishedAtClose = finished
        await h.publish('auth.login.failed', { seq: 2 })
        const later = await h.subscribe(queueName, ['auth.#'])

        await waitUntil(() => later.received.length === 1, { timeoutMs: DELIVERY_TIMEOUT_MS })
        assert.equal(finishedAtClose, 1)
        assert.equal(queue.received.length, 1)
        assert.equal(later.received[0]?.envelope.data.seq, 2)
      })

      it('when the bus is reachable, ping resolves', async (t) => {
        const h = await harness(t)

        await h.bus.ping()
      })
    })
  })
}

import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it, type TestContext } from 'node:test'
import { createMetrics, type Metrics } from '@platform/platform'
import { infraUrl, waitUntil } from '@platform/testkit/infra'
import { createAmqpBus } from '../src/amqp-bus.ts'
import type { InspectableBus } from '../src/bus.ts'
import { createEnvelope } from '../src/envelope.ts'
import { createMemoryBus } from '../src/memory-bus.ts'
import { namespacedBus, openBus } from '../src/open-bus.ts'

const amqpUrl = infraUrl('AMQP_URL')

/** The value of one series as the registry would expose it on /metrics; undefined when absent. */
async function sample(metrics: Metrics, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name)
  const series = metric?.values.find((v) => Object.entries(labels).every(([key, value]) => v.labels[key] === value))
  return series?.value
}

type Setup = { raw: InspectableBus }

describeBusMetrics('memory', () => ({ raw: createMemoryBus({ retryBaseMs: 20, retryMaxMs: 40 }) }))
describeBusMetrics('amqp', () => ({ raw: createAmqpBus({ url: amqpUrl!, retryBaseMs: 20, retryMaxMs: 40 }) }), { skip: !amqpUrl })

function describeBusMetrics(name: string, setup: () => Setup, opts: { skip?: boolean } = {}): void {
  describe(`${name}: bus metrics through openBus`, opts, () => {
    /** A service's view, as the launcher hands it one: a prefixed shared bus, instrumented on its own registry. */
    function serviceBus(t: TestContext) {
      const { raw } = setup()
      const prefix = `test.metrics.${randomBytes(4).toString('hex')}.`
      const metrics = createMetrics('test')
      const { bus } = openBus({ shared: namespacedBus(raw, prefix), connectionName: 'metrics-test', metrics })
      t.after(async () => {
        // Closed first, ending its consumers: a live one would declare its deleted queues again.
        await raw.close()
        const cleanup = setup().raw
        for (const queue of ['work', 'poison']) await cleanup.deleteQueue(`${prefix}${queue}`).catch(() => {})
        await cleanup.deleteExchange(`${prefix}platform.events`).catch(() => {})
        await cleanup.close()
      })
      return { bus, metrics }
    }

    it('when a handler fails twice and then succeeds, bus_consumer_redeliveries_total{queue} counts the two retries', async (t) => {
      const { bus, metrics } = serviceBus(t)
      let calls = 0
      await bus.subscribe('work', ['test.work.*'], async () => {
        calls += 1
        if (calls < 3) throw new Error(`failure ${calls}`)
      })

      await bus.publish(createEnvelope({ type: 'test.work.done', source: 'test', data: {} }))

      await waitUntil(() => calls === 3, { timeoutMs: 10_000, what: 'the third attempt' })
      await waitUntil(async () => (await sample(metrics, 'bus_consumer_redeliveries_total', { queue: 'work' })) === 2, {
        timeoutMs: 5_000,
        what: 'two redeliveries counted',
      })
      assert.equal(await sample(metrics, 'bus_dlq_messages', { queue: 'work.dlq' }), 0)
    })

    it('when a poison message is parked, bus_dlq_messages{queue} shows it under the unprefixed dead-letter queue name', async (t) => {
      const { bus, metrics } = serviceBus(t)
      let handled = 0
      await bus.subscribe('poison', ['test.poison.*'], async () => void (handled += 1))

      await bus.publishRaw('test.poison.x', '{not an envelope')

      await waitUntil(async () => (await sample(metrics, 'bus_dlq_messages', { queue: 'poison.dlq' })) === 1, {
        timeoutMs: 10_000,
        what: 'the parked poison on the gauge',
      })
      const text = await metrics.registry.metrics()
      assert.match(text, /^bus_dlq_messages\{queue="poison\.dlq",service="test"\} 1$/m)
      assert.equal(handled, 0)
    })
  })
}

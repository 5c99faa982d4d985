import { createCounter, createGauge, type Metrics } from '@platform/platform'
import type { Bus } from './bus.ts'

/** A scrape must not wait out a broker that does not answer: its last known depth stays shown. */
const DLQ_COUNT_TIMEOUT_MS = 2_000

/**
 * Wraps `bus` so that the service's `/metrics` shows how its consumers fare (CONTRACT §7,
 * issue 7 item 5):
 *
 * - `bus_consumer_redeliveries_total{queue}`: deliveries a handler of `queue` sees again, after
 *   it threw (a retry) or after the broker took the message back unacked (a crash, a lost
 *   connection). A steady rise means a consumer fails or dies mid-message.
 * - `bus_dlq_messages{queue}`: messages parked in `<queue>.dlq`, read from the broker when
 *   `/metrics` is scraped (RabbitMQ's `messageCount`, the in-process broker's own list), for
 *   every queue this service subscribed to. Anything above 0 waits for an operator.
 *
 * Queue labels are the names the service uses, without an `AMQP_PREFIX`, so dashboards and
 * alerts read the same in every deployment. Publishing is not touched: the outbox relay reports
 * its own `outbox_lag_seconds`.
 *
 * @example
 * const { bus } = openBus({ url: config.AMQP_URL, connectionName: 'notification', metrics })
 * // same as: instrumentBus(openBus({ ... }).bus, metrics)
 */
export function instrumentBus(bus: Bus, metrics: Metrics): Bus {
  const queues = new Set<string>()
  const redeliveries = createCounter(metrics, {
    name: 'bus_consumer_redeliveries_total',
    help: 'Deliveries a consumer saw again: after its handler threw, or after the broker took the message back unacked',
    labelNames: ['queue'],
  })
  const count = bus.deadLetterCount?.bind(bus)
  createGauge(metrics, {
    name: 'bus_dlq_messages',
    help: 'Messages parked in a consumer queue\'s dead-letter queue, read from the broker at scrape time',
    labelNames: ['queue'],
    collect: async (gauge) => {
      if (!count) return
      await Promise.all(
        [...queues].map(async (queue) => {
          const depth = await withTimeout(count(queue), DLQ_COUNT_TIMEOUT_MS).catch(() => undefined)
          if (depth !== undefined) gauge.set({ queue: `${queue}.dlq` }, depth)
        }),
      )
    },
  })

  const instrumented: Bus = {
    publish: (envelope, opts) => bus.publish(envelope, opts),
    publishRaw: (routingKey, body, opts) => bus.publishRaw(routingKey, body, opts),
    subscribe(queue, patterns, handler, opts) {
      queues.add(queue)
      return bus.subscribe(
        queue,
        patterns,
        (envelope, meta) => {
          if (meta.attempt > 1 || meta.redelivered) redeliveries.inc({ queue })
          return handler(envelope, meta)
        },
        opts,
      )
    },
    ping: () => bus.ping(),
    close: () => bus.close(),
  }
  if (count) instrumented.deadLetterCount = count
  return instrumented
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)
    timer.unref()
  })
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer))
}

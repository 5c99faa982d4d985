import { DEFAULT_EXCHANGE, type Bus } from './bus.ts'
import { createAmqpBus } from './amqp-bus.ts'
import { createMemoryBus } from './memory-bus.ts'
import { instrumentBus } from './bus-metrics.ts'
import type { Metrics } from '@platform/platform'

/**
 * A view of a bus whose exchanges and queues all carry `prefix`, so two platforms (or two test
 * runs) can share one RabbitMQ without consuming each other's events. An empty prefix returns
 * the bus unchanged; `close` closes the underlying bus.
 */
export function namespacedBus(bus: Bus, prefix: string): Bus {
  if (!prefix) return bus
  const queues = new Set<string>()
  const exchanges = new Set<string>()
  const exchange = (name = DEFAULT_EXCHANGE) => {
    exchanges.add(`${prefix}${name}`)
    return `${prefix}${name}`
  }
  const view: Bus = {
    publish: (envelope, opts) => bus.publish(envelope, { ...opts, exchange: exchange(opts?.exchange) }),
    publishRaw: (routingKey, body, opts) => bus.publishRaw(routingKey, body, { ...opts, exchange: exchange(opts?.exchange) }),
    subscribe: (queue, patterns, handler, opts) => {
      queues.add(`${prefix}${queue}`)
      return bus.subscribe(`${prefix}${queue}`, patterns, handler, { ...opts, exchange: exchange(opts?.exchange) })
    },
    namesInUse: () => ({ queues: [...queues], exchanges: [...exchanges] }),
    ping: () => bus.ping(),
    close: () => bus.close(),
  }
  const count = bus.deadLetterCount?.bind(bus)
  if (count) view.deadLetterCount = (queue) => count(`${prefix}${queue}`)
  return view
}

/**
 * The bus a service uses: the one the launcher shares (in-process, `npm start`), else RabbitMQ
 * at `AMQP_URL`, else a private in-process bus. `owned` tells whether the caller must close it.
 * With `metrics`, the bus is {@link instrumentBus instrumented} for that service's `/metrics`.
 */
export function openBus(opts: {
  shared?: Bus
  url?: string
  prefix?: string
  connectionName: string
  log?: Parameters<typeof createAmqpBus>[0]['log']
  /** The service's registry: its consumers' redeliveries and dead-letter queues show there. */
  metrics?: Metrics
}): { bus: Bus; owned: boolean } {
  const instrumented = (bus: Bus) => (opts.metrics ? instrumentBus(bus, opts.metrics) : bus)
  if (opts.shared) return { bus: instrumented(opts.shared), owned: false }
  const bus = opts.url ? createAmqpBus({ url: opts.url, log: opts.log, connectionName: opts.connectionName }) : createMemoryBus()
  return { bus: instrumented(namespacedBus(bus, opts.prefix ?? '')), owned: true }
}

/**
 * Deletes from the broker at `url` what a stopped {@link namespacedBus} used (`namesInUse`):
 * its queues with their retry and dead-letter queues, then its exchanges. For test stacks and
 * benchmarks, whose prefixed names would otherwise pile up on a shared RabbitMQ. Stop the
 * consumers first: a live one would declare its queues again.
 */
export async function deleteNamesInUse(url: string, names: { queues: readonly string[]; exchanges: readonly string[] }): Promise<void> {
  const broker = createAmqpBus({ url, connectionName: 'cleanup' })
  try {
    for (const queue of names.queues) await broker.deleteQueue(queue)
    for (const exchange of names.exchanges) await broker.deleteExchange(exchange)
  } finally {
    await broker.close()
  }
}

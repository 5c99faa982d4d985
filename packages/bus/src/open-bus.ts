import { DEFAULT_EXCHANGE, type Bus } from './bus.ts'
import { createAmqpBus } from './amqp-bus.ts'
import { createMemoryBus } from './memory-bus.ts'

/**
 * A view of a bus whose exchanges and queues all carry `prefix`, so two platforms (or two test
 * runs) can share one RabbitMQ without consuming each other's events. An empty prefix returns
 * the bus unchanged; `close` closes the underlying bus.
 */
export function namespacedBus(bus: Bus, prefix: string): Bus {
  if (!prefix) return bus
  const exchange = (name = DEFAULT_EXCHANGE) => `${prefix}${name}`
  return {
    publish: (envelope, opts) => bus.publish(envelope, { ...opts, exchange: exchange(opts?.exchange) }),
    publishRaw: (routingKey, body, opts) => bus.publishRaw(routingKey, body, { ...opts, exchange: exchange(opts?.exchange) }),
    subscribe: (queue, patterns, handler, opts) =>
      bus.subscribe(`${prefix}${queue}`, patterns, handler, { ...opts, exchange: exchange(opts?.exchange) }),
    ping: () => bus.ping(),
    close: () => bus.close(),
  }
}

/**
 * The bus a service uses: the one the launcher shares (in-process, `npm start`), else RabbitMQ
 * at `AMQP_URL`, else a private in-process bus. `owned` tells whether the caller must close it.
 */
export function openBus(opts: { shared?: Bus; url?: string; prefix?: string; connectionName: string; log?: Parameters<typeof createAmqpBus>[0]['log'] }): { bus: Bus; owned: boolean } {
  if (opts.shared) return { bus: opts.shared, owned: false }
  const bus = opts.url ? createAmqpBus({ url: opts.url, log: opts.log, connectionName: opts.connectionName }) : createMemoryBus()
  return { bus: namespacedBus(bus, opts.prefix ?? ''), owned: true }
}

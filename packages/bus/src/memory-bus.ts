import {
  BusUnavailableError,
  checkSubscribeArgs,
  DEFAULT_EXCHANGE,
  errorMessage,
  retryDelayMs,
  type DeadLetter,
  type EventHandler,
  type InspectableBus,
  type Subscription,
} from './bus.ts'
import { decodeEnvelope, parseEnvelope } from './envelope.ts'

/** Options of {@link createMemoryBus}: the retry schedule (defaults 200 ms doubling up to 30 s). */
export type MemoryBusOptions = { retryBaseMs?: number; retryMaxMs?: number }

type Message = { body: string; failures: number }

type Consumer = {
  handler: EventHandler
  prefetch: number
  maxAttempts: number
  inFlight: number
  running: Set<Promise<void>>
}

type Queue = {
  messages: Message[]
  /** exchange → binding patterns */
  bindings: Map<string, Set<string>>
  consumers: Consumer[]
  nextConsumer: number
  dead: DeadLetter[]
}

/**
 * An in-process {@link InspectableBus} with RabbitMQ's semantics, used when `AMQP_URL` is unset
 * (one process runs every service then, so create it once in the composition root). Queues are
 * global by name and outlive their subscriptions, as durable queues do, but nothing outlives the
 * process. Several subscriptions on one queue compete for its messages, round robin. Retry timers
 * are unref'd and cleared by `close`, so the bus never keeps the process alive.
 *
 * @example
 * const bus = config.amqpUrl ? createAmqpBus({ url: config.amqpUrl, log }) : createMemoryBus()
 */
export function createMemoryBus(opts: MemoryBusOptions = {}): InspectableBus {
  const queues = new Map<string, Queue>()
  const subscriptions = new Set<Subscription>()
  const timers = new Set<NodeJS.Timeout>()
  let closed = false

  function assertOpen(): void {
    if (closed) throw new BusUnavailableError('memory bus is closed')
  }

  function queueNamed(name: string): Queue {
    let queue = queues.get(name)
    if (!queue) {
      queue = { messages: [], bindings: new Map(), consumers: [], nextConsumer: 0, dead: [] }
      queues.set(name, queue)
    }
    return queue
  }

  function route(exchange: string, routingKey: string, body: string): void {
    for (const queue of queues.values()) {
      const patterns = queue.bindings.get(exchange)
      if (!patterns) continue
      if ([...patterns].some((pattern) => topicMatches(pattern, routingKey))) {
        queue.messages.push({ body, failures: 0 })
        schedulePump(queue)
      }
    }
  }

  // Deliveries start on a later turn of the event loop, as they would from a broker: a handler
  // never runs inside the publisher's call stack.
  function schedulePump(queue: Queue): void {
    setImmediate(() => pump(queue))
  }

  function pump(queue: Queue): void {
    while (queue.messages.length > 0) {
      const consumer = nextFreeConsumer(queue)
      if (!consumer) return
      deliver(queue, consumer, queue.messages.shift()!)
    }
  }

  function nextFreeConsumer(queue: Queue): Consumer | undefined {
    const count = queue.consumers.length
    for (let i = 0; i < count; i++) {
      const index = (queue.nextConsumer + i) % count
      const consumer = queue.consumers[index]!
      if (consumer.inFlight < consumer.prefetch) {
        queue.nextConsumer = (index + 1) % count
        return consumer
      }
    }
    return undefined
  }

  function deliver(queue: Queue, consumer: Consumer, message: Message): void {
    consumer.inFlight++
    const run = handle(queue, consumer, message).finally(() => {
      consumer.inFlight--
      consumer.running.delete(run)
      pump(queue)
    })
    consumer.running.add(run)
  }

  async function handle(queue: Queue, consumer: Consumer, message: Message): Promise<void> {
    const decoded = decodeEnvelope(message.body)
    if (!decoded.ok) {
      queue.dead.push({ body: message.body, reason: 'invalid', attempts: 0, error: decoded.error })
      return
    }
    const attempt = message.failures + 1
    try {
      await consumer.handler(decoded.envelope, { attempt, redelivered: false })
    } catch (err) {
      if (attempt >= consumer.maxAttempts) {
        queue.dead.push({
          body: message.body,
          envelope: decoded.envelope,
          reason: 'failed',
          attempts: attempt,
          error: errorMessage(err),
        })
        return
      }
      // A closed bus keeps nothing, as a process that ended would not.
      if (closed) return
      const timer = setTimeout(
        () => {
          timers.delete(timer)
          queue.messages.push({ body: message.body, failures: attempt })
          pump(queue)
        },
        retryDelayMs(attempt, opts.retryBaseMs, opts.retryMaxMs),
      )
      timer.unref()
      timers.add(timer)
    }
  }

  return {
    async publish(envelope, { exchange = DEFAULT_EXCHANGE } = {}) {
      assertOpen()
      parseEnvelope(envelope)
      route(exchange, envelope.type, JSON.stringify(envelope))
    },

    async publishRaw(routingKey, body, { exchange = DEFAULT_EXCHANGE } = {}) {
      assertOpen()
      route(exchange, routingKey, body)
    },

    async subscribe(queueName, patterns, handler, subscribeOpts = {}) {
      assertOpen()
      const { exchange, prefetch, maxAttempts } = checkSubscribeArgs(
        queueName,
        patterns,
        subscribeOpts,
      )
      const queue = queueNamed(queueName)
      const bound = queue.bindings.get(exchange) ?? new Set<string>()
      for (const pattern of patterns) bound.add(pattern)
      queue.bindings.set(exchange, bound)
      const consumer: Consumer = { handler, prefetch, maxAttempts, inFlight: 0, running: new Set() }
      queue.consumers.push(consumer)
      schedulePump(queue)

      let closing: Promise<void> | undefined
      const subscription: Subscription = {
        close() {
          closing ??= (async () => {
            queue.consumers = queue.consumers.filter((c) => c !== consumer)
            await Promise.allSettled([...consumer.running])
            subscriptions.delete(subscription)
          })()
          return closing
        },
      }
      subscriptions.add(subscription)
      return subscription
    },

    async deadLetters(queueName) {
      assertOpen()
      return (queues.get(queueName)?.dead ?? []).map((letter) => ({ ...letter }))
    },

    async deadLetterCount(queueName) {
      assertOpen()
      return queues.get(queueName)?.dead.length ?? 0
    },

    async deleteQueue(queueName) {
      assertOpen()
      const queue = queues.get(queueName)
      if (!queue) return
      queue.messages.length = 0
      queue.consumers.length = 0
      queues.delete(queueName)
    },

    async deleteExchange(exchange) {
      assertOpen()
      for (const queue of queues.values()) queue.bindings.delete(exchange)
    },

    async ping() {
      assertOpen()
    },

    async close() {
      if (closed) return
      closed = true
      await Promise.allSettled([...subscriptions].map((s) => s.close()))
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
    },
  }
}

/**
 * Whether a routing key matches an AMQP topic binding pattern: words are separated by dots, `*`
 * stands for exactly one word and `#` for zero or more.
 *
 * @example
 * topicMatches('auth.#', 'auth.login.failed') // true
 * topicMatches('auth.*', 'auth.login.failed') // false: `*` is one word
 */
export function topicMatches(pattern: string, routingKey: string): boolean {
  const p = pattern.split('.')
  const k = routingKey.split('.')
  const seen = new Map<number, boolean>()
  const match = (i: number, j: number): boolean => {
    const memoKey = i * (k.length + 1) + j
    const known = seen.get(memoKey)
    if (known !== undefined) return known
    let result: boolean
    if (i === p.length) result = j === k.length
    else if (p[i] === '#') result = match(i + 1, j) || (j < k.length && match(i, j + 1))
    else result = j < k.length && (p[i] === '*' || p[i] === k[j]) && match(i + 1, j + 1)
    seen.set(memoKey, result)
    return result
  }
  return match(0, 0)
}

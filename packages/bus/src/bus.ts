import type { EventEnvelope } from './envelope.ts'

/** The topic exchange every domain event goes through (CONTRACT §7). */
export const DEFAULT_EXCHANGE = 'platform.events'
/** Handler attempts per message before it is dead-lettered, when `subscribe` is not told. */
export const MAX_ATTEMPTS_DEFAULT = 5
/** Delay before the first retry; each further retry doubles it, up to {@link RETRY_DELAY_MAX_MS}. */
export const RETRY_DELAY_BASE_MS = 200
/** Upper bound of the retry delay. */
export const RETRY_DELAY_MAX_MS = 30_000

/** The logging the bus needs; a pino logger fits. */
export type BusLogger = {
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

/** What a handler learns about the delivery besides the event. */
export type DeliveryMeta = {
  /** 1 on the first try, n on the n-th try after n-1 failures of the handler. */
  attempt: number
  /** The broker delivered this message before without an ack (e.g. the connection dropped). */
  redelivered: boolean
}

/** Handles one event; resolving acks it, throwing schedules a retry or dead-letters it. */
export type EventHandler = (envelope: EventEnvelope, meta: DeliveryMeta) => Promise<void>

/** Options of {@link Bus.subscribe}. */
export type SubscribeOptions = {
  /** Defaults to {@link DEFAULT_EXCHANGE}. */
  exchange?: string
  /** Messages handled at once on this subscription; 1 (the default) keeps the queue's order. */
  prefetch?: number
  /** Handler attempts before the message goes to `${queue}.dlq`; default {@link MAX_ATTEMPTS_DEFAULT}. */
  maxAttempts?: number
}

/** An open subscription; `close` stops new deliveries and waits for handlers still running. */
export type Subscription = { close(): Promise<void> }

/**
 * Publishes domain events and consumes them from durable queues. `createAmqpBus` backs it with
 * RabbitMQ, `createMemoryBus` in process; `describeBusContract` holds the behaviour both share.
 *
 * Delivery is at least once: a handler may see an event again (after a crash, a lost ack, a
 * retry), so consumers deduplicate by `envelope.id` (see `handleOnce` in `@platform/bus/outbox`).
 * Producers do not call `publish` from request code; they write to the outbox in their
 * transaction and the relay publishes (CONTRACT §7).
 */
export interface Bus {
  /**
   * Publishes to the topic exchange (default `platform.events`) with routing key
   * `envelope.type`, as a persistent message; resolves only once the broker confirmed it.
   * Rejects with `InvalidEnvelopeError` for a malformed envelope and with `BusUnavailableError`
   * when the broker cannot be reached or does not confirm in time; it never hangs.
   */
  publish(envelope: EventEnvelope, opts?: { exchange?: string }): Promise<void>
  /**
   * Consumes the durable queue `queue`, bound to each of `patterns` on the exchange (`*` matches
   * one word, `#` zero or more). The handler sees at most `prefetch` messages at once. When it
   * throws, the message comes back after 200 ms, 400 ms, 800 ms … (capped), until `maxAttempts`
   * tries failed; then it goes to the durable queue `${queue}.dlq`. A message that is not a valid
   * envelope goes there at once, without calling the handler. Other messages are never held up
   * by a failing one. Bindings added earlier stay on the durable queue: unbinding is an
   * operations task.
   *
   * @example
   * await bus.subscribe('audit.events', ['#'], (event) => handleOnce(db, 'audit', event.id, (trx) => record(trx, event)))
   */
  subscribe(
    queue: string,
    patterns: string[],
    handler: EventHandler,
    opts?: SubscribeOptions,
  ): Promise<Subscription>
  /**
   * Publishes `body` as is (no envelope check) to the topic exchange (default
   * `platform.events`) under `routingKey`, as a persistent message, and resolves once the broker
   * confirmed it; rejects like {@link Bus.publish}. For streams whose messages are not event
   * envelopes, such as the audit service's `audit.records` (body = the stored record), and for
   * testing how consumers treat poison. `subscribe` consumers dead-letter such bodies, so
   * consumers of those exchanges read them with their own client.
   *
   * @example
   * await bus.publishRaw(record.action, JSON.stringify(record), { exchange: 'audit.records' })
   */
  publishRaw(routingKey: string, body: string, opts?: { exchange?: string }): Promise<void>
  /**
   * How many messages wait in `${queue}.dlq` (0 when it does not exist), without taking them
   * out; for the `bus_dlq_messages` gauge. Both implementations have it; a view that cannot
   * count (a test double) leaves it out and the gauge shows nothing for its queues.
   */
  deadLetterCount?(queue: string): Promise<number>
  /**
   * The broker names a prefixed view ({@link namespacedBus}) has used so far — its consumer
   * queues and exchanges, prefix included — so that whoever made a throw-away namespace (an
   * end-to-end test stack) can delete it afterwards. Absent on unprefixed buses.
   */
  namesInUse?(): { queues: string[]; exchanges: string[] }
  /** Resolves when the broker is reachable; for readiness checks. */
  ping(): Promise<void>
  /** Closes every subscription (waiting for running handlers), then the connection; idempotent. */
  close(): Promise<void>
}

/** A message parked in a dead-letter queue, as {@link InspectableBus.deadLetters} shows it. */
export type DeadLetter = {
  /** The message body as it was received (UTF-8). */
  body: string
  /** The parsed envelope; absent when the body was not a valid one. */
  envelope?: EventEnvelope
  /** `'invalid'`: not an envelope (poison); `'failed'`: the handler threw on every attempt. */
  reason: 'invalid' | 'failed'
  /** Handler attempts made (0 for an invalid message). */
  attempts: number
  /** Why: the validation error or the handler's last error message. */
  error: string
}

/**
 * A {@link Bus} that can also show and clean up what it created: for the contract suite,
 * operations scripts and tests. Both implementations return one.
 */
export interface InspectableBus extends Bus {
  /** The messages in `${queue}.dlq`, oldest first, left in place. */
  deadLetters(queue: string): Promise<DeadLetter[]>
  /** As {@link Bus.deadLetterCount}; every inspectable bus can count. */
  deadLetterCount(queue: string): Promise<number>
  /** Deletes `queue` with its retry and dead-letter queues, messages included; missing is fine. */
  deleteQueue(queue: string): Promise<void>
  /** Deletes the exchange and its bindings; missing is fine. */
  deleteExchange(exchange: string): Promise<void>
}

/**
 * Thrown by {@link Bus} operations when the broker cannot be reached: not connected within the
 * timeout, connection lost before the confirm, bus closed. The original error is kept as `cause`.
 */
export class BusUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'BusUnavailableError'
  }
}

/** Delay before retry number `failures` (1-based): 200 ms × 2^(failures-1), capped. */
export function retryDelayMs(
  failures: number,
  baseMs: number = RETRY_DELAY_BASE_MS,
  maxMs: number = RETRY_DELAY_MAX_MS,
): number {
  return Math.min(baseMs * 2 ** Math.min(failures - 1, 30), maxMs)
}

/** Rejects settings a broker would refuse or that would make a subscription never deliver. */
export function checkSubscribeArgs(
  queue: string,
  patterns: readonly string[],
  opts: SubscribeOptions,
): { exchange: string; prefetch: number; maxAttempts: number } {
  if (!queue || queue.startsWith('amq.')) throw new RangeError(`invalid queue name ${queue}`)
  if (patterns.length === 0) throw new RangeError('subscribe needs at least one pattern')
  const prefetch = opts.prefetch ?? 1
  const maxAttempts = opts.maxAttempts ?? MAX_ATTEMPTS_DEFAULT
  if (!Number.isSafeInteger(prefetch) || prefetch < 1) {
    throw new RangeError(`prefetch must be a whole number >= 1, got ${prefetch}`)
  }
  if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1) {
    throw new RangeError(`maxAttempts must be a whole number >= 1, got ${maxAttempts}`)
  }
  return { exchange: opts.exchange ?? DEFAULT_EXCHANGE, prefetch, maxAttempts }
}

/** The message of any thrown value, for a dead letter's `error`. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

import { hostname } from 'node:os'
import amqp from 'amqplib'
import type { ChannelModel, ConfirmChannel, ConsumeMessage, Message, Options } from 'amqplib'
import {
  BusUnavailableError,
  checkSubscribeArgs,
  DEFAULT_EXCHANGE,
  errorMessage,
  RETRY_DELAY_BASE_MS,
  RETRY_DELAY_MAX_MS,
  retryDelayMs,
  type BusLogger,
  type DeadLetter,
  type EventHandler,
  type InspectableBus,
  type Subscription,
} from './bus.ts'
import { decodeEnvelope, InvalidEnvelopeError, parseEnvelope } from './envelope.ts'
import { batchWritesPerTurn } from './write-batching.ts'

const TIMEOUT_MS_DEFAULT = 5_000
const HEARTBEAT_S_DEFAULT = 10
const RECONNECT_DELAY_MIN_MS = 100
const RECONNECT_DELAY_MAX_MS = 5_000

// Our bookkeeping travels in headers, so it survives the trip through the retry and dead-letter
// queues and an operator can read it from the DLQ.
const FAILURES_HEADER = 'x-bus-failures'
const REASON_HEADER = 'x-bus-reason'
const ERROR_HEADER = 'x-bus-error'
const EXCHANGE_HEADER = 'x-bus-exchange'
const ROUTING_KEY_HEADER = 'x-bus-routing-key'
// Set by the broker when it dead-letters; copying them into a new publish would only mislead.
const BROKER_HEADERS = /^x-(death|first-death-|last-death-)/
// A dead letter's error is for reading, not for shipping a stack trace around.
const ERROR_HEADER_MAX_LENGTH = 1_000

/**
 * Options of {@link createAmqpBus}. `url` is an `amqp://` or `amqps://` URL (a `heartbeat` query
 * parameter wins over the default of 10 s). `connectionName` shows in the RabbitMQ management UI
 * and in `rabbitmqctl list_connections client_properties` (default `bus:<host>:<pid>`).
 * `timeoutMs` (default 5000) bounds every wait: connecting, the confirm of a publish, the
 * set-up of a subscription. `retryBaseMs`/`retryMaxMs` shape the handler retry schedule.
 */
export type AmqpBusOptions = {
  url: string
  log?: BusLogger
  connectionName?: string
  timeoutMs?: number
  retryBaseMs?: number
  retryMaxMs?: number
}

type AmqpSubscription = {
  queue: string
  patterns: string[]
  handler: EventHandler
  exchange: string
  prefetch: number
  maxAttempts: number
  /** The connection `channel` belongs to; a channel never outlives it. */
  conn: ChannelModel | undefined
  channel: ConfirmChannel | undefined
  consumerTag: string | undefined
  attaching: Promise<void> | undefined
  running: Set<Promise<void>>
  closing: boolean
}

type PublishChannel = {
  conn: ChannelModel
  channel: Promise<ConfirmChannel>
  exchanges: Map<string, Promise<unknown>>
}

/**
 * An {@link InspectableBus} on RabbitMQ (3.x, no plugins) through amqplib. One connection per
 * instance: create one per process in the composition root and share it. Publishing uses a
 * confirm channel; each subscription has its own confirm channel, so a slow consumer never holds
 * up the others and its retries are confirmed before the original is acked.
 *
 * Topology, asserted idempotently on every (re)connect: the durable topic exchange; the durable
 * queue with its bindings; `${queue}.dlq`; and one durable delay queue per retry delay,
 * `${queue}.retry.<ms>ms`, whose TTL dead-letters the message back to the queue through the
 * default exchange. One queue per delay, not one with per-message TTLs: RabbitMQ only expires
 * messages at the head of a queue, so a long delay would hold up every short one behind it.
 *
 * When the connection drops (broker restart, `rabbitmqctl close_connection`, network), the bus
 * reconnects by itself with back-off from 100 ms up to 5 s, forever, and re-attaches every
 * subscription. Meanwhile `publish` rejects with `BusUnavailableError`: at once once a reconnect
 * attempt has failed, otherwise within `timeoutMs`; nothing is queued for later, the outbox
 * retries. Connection and channel `error` events are logged and never crash the process.
 *
 * @example
 * const bus = createAmqpBus({ url: config.amqpUrl, log, connectionName: `license:${hostname()}` })
 * onShutdown(() => bus.close())
 */
export function createAmqpBus(opts: AmqpBusOptions): InspectableBus {
  const log = opts.log
  const timeoutMs = opts.timeoutMs ?? TIMEOUT_MS_DEFAULT
  const retryBaseMs = opts.retryBaseMs ?? RETRY_DELAY_BASE_MS
  const retryMaxMs = opts.retryMaxMs ?? RETRY_DELAY_MAX_MS
  const url = withHeartbeat(opts.url, HEARTBEAT_S_DEFAULT)
  const connectionName = opts.connectionName ?? `bus:${hostname()}:${process.pid}`
  const subscriptions = new Set<AmqpSubscription>()

  let closed = false
  let model: ChannelModel | undefined
  let pub: PublishChannel | undefined
  let loop: Promise<void> | undefined
  let wakeLoop: (() => void) | undefined
  let failedAttempts = 0
  let lastError: unknown
  let stateChanged = deferred()

  function signal(): void {
    const previous = stateChanged
    stateChanged = deferred()
    previous.resolve()
  }

  function unavailable(what: string, cause: unknown = lastError): BusUnavailableError {
    const reason = cause === undefined ? '' : `: ${errorMessage(cause)}`
    return new BusUnavailableError(`amqp ${what}${reason}`, { cause })
  }

  async function withDeadline<T>(work: Promise<T>, deadline: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(unavailable(`${what}: no answer within ${timeoutMs} ms`)),
        Math.max(0, deadline - Date.now()),
      )
    })
    try {
      return await Promise.race([work, timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  function ensureConnecting(): void {
    if (closed || model || loop) return
    loop = (async () => {
      while (!closed) {
        if (failedAttempts > 0) await sleep(reconnectDelayMs(failedAttempts))
        if (closed) return
        try {
          await connectOnce()
          return
        } catch (err) {
          failedAttempts++
          lastError = err
          log?.warn(
            { err: errorMessage(err), attempt: failedAttempts },
            'amqp connect failed; retrying',
          )
          signal()
        }
      }
    })().finally(() => {
      loop = undefined
      // The connection may have dropped again before this loop noticed it had finished.
      if (!model && !closed) ensureConnecting()
    })
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms)
      timer.unref()
      function done() {
        wakeLoop = undefined
        clearTimeout(timer)
        resolve()
      }
      wakeLoop = done
    })
  }

  async function connectOnce(): Promise<void> {
    const conn = await amqp.connect(url, {
      timeout: timeoutMs,
      clientProperties: { connection_name: connectionName },
    })
    // Listeners go on before anything can be emitted: an 'error' without one kills the process.
    conn.on('error', (err: Error) => {
      lastError = err
      log?.warn({ err: err.message }, 'amqp connection error')
    })
    conn.on('close', (err?: Error) => onConnectionClosed(conn, err))
    conn.on('blocked', (reason: string) => log?.warn({ reason }, 'amqp connection blocked'))
    conn.on('unblocked', () => log?.info({}, 'amqp connection unblocked'))
    if (!batchWritesPerTurn(conn)) log?.warn({}, 'amqp socket not found; frames are written one by one')
    if (closed) {
      await conn.close().catch(() => {})
      return
    }
    model = conn
    failedAttempts = 0
    lastError = undefined
    log?.info({ connectionName }, 'amqp connected')
    signal()
    for (const sub of subscriptions) attachInBackground(sub, 0)
  }

  function onConnectionClosed(conn: ChannelModel, err: Error | undefined): void {
    if (model !== conn) return
    model = undefined
    pub = undefined
    if (err) lastError = err
    for (const sub of subscriptions) {
      sub.conn = undefined
      sub.channel = undefined
      sub.consumerTag = undefined
    }
    signal()
    if (closed) return
    log?.warn({ err: err?.message }, 'amqp connection lost; reconnecting')
    ensureConnecting()
  }

  /**
   * The open connection, waiting up to the deadline while a connect attempt is under way; at
   * once unavailable after a failed attempt, so callers do not each wait out a known outage.
   */
  async function connection(deadline: number): Promise<ChannelModel> {
    for (;;) {
      if (closed) throw new BusUnavailableError('amqp bus is closed')
      if (model) return model
      if (failedAttempts > 0) throw unavailable('broker unreachable, reconnecting')
      ensureConnecting()
      await withDeadline(stateChanged.promise, deadline, 'connect')
    }
  }

  async function withChannel<T>(fn: (ch: ConfirmChannel) => Promise<T>): Promise<T> {
    const deadline = Date.now() + timeoutMs
    const conn = await connection(deadline)
    const ch = await withDeadline(conn.createConfirmChannel(), deadline, 'open channel')
    ch.on('error', () => {})
    try {
      return await withDeadline(fn(ch), deadline, 'operation')
    } finally {
      await withDeadline(ch.close(), Date.now() + timeoutMs, 'close').catch(() => {})
    }
  }

  function publishChannel(conn: ChannelModel): PublishChannel {
    if (pub && pub.conn === conn) return pub
    const current: PublishChannel = {
      conn,
      channel: conn.createConfirmChannel().then((ch) => {
        ch.on('error', (err: Error) =>
          log?.warn({ err: err.message }, 'amqp publish channel error'),
        )
        ch.on('close', () => {
          if (pub === current) pub = undefined
        })
        return ch
      }),
      exchanges: new Map(),
    }
    current.channel.catch(() => {
      if (pub === current) pub = undefined
    })
    pub = current
    return current
  }

  function exchangeAsserted(channel: PublishChannel, exchange: string): Promise<unknown> {
    let asserted = channel.exchanges.get(exchange)
    if (!asserted) {
      asserted = channel.channel.then((ch) =>
        ch.assertExchange(exchange, 'topic', { durable: true }),
      )
      asserted.catch(() => channel.exchanges.delete(exchange))
      channel.exchanges.set(exchange, asserted)
    }
    return asserted
  }

  async function send(
    exchange: string,
    routingKey: string,
    body: Buffer,
    props: Options.Publish,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs
    try {
      const conn = await connection(deadline)
      const channel = publishChannel(conn)
      await withDeadline(
        (async () => {
          await exchangeAsserted(channel, exchange)
          const ch = await channel.channel
          await confirmed(ch, exchange, routingKey, body, {
            persistent: true,
            contentType: 'application/json',
            ...props,
          })
        })(),
        deadline,
        'publish confirm',
      )
    } catch (err) {
      if (err instanceof BusUnavailableError) throw err
      throw unavailable('publish failed', err)
    }
  }

  function attachInBackground(sub: AmqpSubscription, failures: number): void {
    ensureAttached(sub).catch((err: unknown) => {
      // Without a connection the next reconnect attaches it; otherwise the broker refused
      // (e.g. a queue declared elsewhere with other arguments): keep trying, loudly.
      if (closed || sub.closing || !model) return
      log?.error(
        { err: errorMessage(err), queue: sub.queue },
        'amqp subscription could not attach; retrying',
      )
      const timer = setTimeout(
        () => attachInBackground(sub, failures + 1),
        reconnectDelayMs(failures + 1),
      )
      timer.unref()
    })
  }

  function ensureAttached(sub: AmqpSubscription): Promise<void> {
    const conn = model
    if (!conn) return Promise.reject(unavailable('not connected'))
    if (sub.channel && sub.conn === conn) return Promise.resolve()
    sub.attaching ??= attach(sub, conn).finally(() => {
      sub.attaching = undefined
    })
    return sub.attaching
  }

  async function attach(sub: AmqpSubscription, conn: ChannelModel): Promise<void> {
    const ch = await conn.createConfirmChannel()
    ch.on('error', (err: Error) =>
      log?.warn({ err: err.message, queue: sub.queue }, 'amqp consumer channel error'),
    )
    ch.on('close', () => {
      if (sub.channel !== ch) return
      sub.channel = undefined
      sub.consumerTag = undefined
      // The channel closed under a live connection (a channel error, a deleted queue): attach anew.
      if (!closed && !sub.closing && model === conn) attachInBackground(sub, 0)
    })
    try {
      await ch.prefetch(sub.prefetch)
      await declareTopology(ch, sub)
      const { consumerTag } = await ch.consume(sub.queue, (msg) => {
        if (msg) onDelivery(sub, ch, msg)
        else {
          log?.warn({ queue: sub.queue }, 'amqp consumer cancelled by the broker')
          ch.close().catch(() => {})
        }
      })
      if (sub.closing) throw new Error('subscription closed while attaching')
      sub.conn = conn
      sub.channel = ch
      sub.consumerTag = consumerTag
      log?.info({ queue: sub.queue, patterns: sub.patterns }, 'amqp subscription attached')
    } catch (err) {
      await ch.close().catch(() => {})
      throw err
    }
  }

  async function declareTopology(ch: ConfirmChannel, sub: AmqpSubscription): Promise<void> {
    await ch.assertExchange(sub.exchange, 'topic', { durable: true })
    await ch.assertQueue(sub.queue, { durable: true })
    await ch.assertQueue(dlqName(sub.queue), { durable: true })
    for (const delayMs of retryDelays(sub.maxAttempts, retryBaseMs, retryMaxMs)) {
      await ch.assertQueue(retryQueueName(sub.queue, delayMs), {
        durable: true,
        arguments: {
          'x-message-ttl': delayMs,
          'x-dead-letter-exchange': '',
          'x-dead-letter-routing-key': sub.queue,
        },
      })
    }
    for (const pattern of sub.patterns) await ch.bindQueue(sub.queue, sub.exchange, pattern)
  }

  function onDelivery(sub: AmqpSubscription, ch: ConfirmChannel, msg: ConsumeMessage): void {
    // Left unacked: closing the channel gives it back to the queue for the next consumer.
    if (sub.closing) return
    const run = settle(sub, ch, msg)
      .catch((err: unknown) => {
        // Typically the channel went away mid-handler; the broker redelivers the message.
        log?.warn(
          { err: errorMessage(err), queue: sub.queue },
          'amqp delivery not settled; it will be redelivered',
        )
      })
      .finally(() => sub.running.delete(run))
    sub.running.add(run)
  }

  async function settle(sub: AmqpSubscription, ch: ConfirmChannel, msg: ConsumeMessage) {
    const decoded = decodeEnvelope(msg.content.toString('utf8'))
    if (!decoded.ok) {
      await forward(ch, dlqName(sub.queue), msg, {
        reason: 'invalid',
        failures: 0,
        error: decoded.error,
      })
      ch.ack(msg)
      return
    }
    const attempt = headerCount(msg.properties.headers?.[FAILURES_HEADER]) + 1
    try {
      await sub.handler(decoded.envelope, { attempt, redelivered: msg.fields.redelivered })
    } catch (err) {
      const error = errorMessage(err)
      if (attempt >= sub.maxAttempts) {
        log?.error(
          { err: error, queue: sub.queue, eventId: decoded.envelope.id, attempts: attempt },
          'event handler failed on every attempt; dead-lettered',
        )
        await forward(ch, dlqName(sub.queue), msg, { reason: 'failed', failures: attempt, error })
      } else {
        const delayMs = retryDelayMs(attempt, retryBaseMs, retryMaxMs)
        await forward(ch, retryQueueName(sub.queue, delayMs), msg, { failures: attempt, error })
      }
    }
    ch.ack(msg)
  }

  /** Copies `msg` into `queue` with our headers and waits for the confirm, before any ack. */
  async function forward(
    ch: ConfirmChannel,
    queue: string,
    msg: Message,
    info: { failures: number; error: string; reason?: DeadLetter['reason'] },
  ): Promise<void> {
    const headers: Record<string, unknown> = {}
    for (const [name, value] of Object.entries(msg.properties.headers ?? {})) {
      if (!BROKER_HEADERS.test(name)) headers[name] = value
    }
    headers[EXCHANGE_HEADER] ??= msg.fields.exchange
    headers[ROUTING_KEY_HEADER] ??= msg.fields.routingKey
    headers[FAILURES_HEADER] = info.failures
    headers[ERROR_HEADER] = info.error.slice(0, ERROR_HEADER_MAX_LENGTH)
    if (info.reason) headers[REASON_HEADER] = info.reason
    const { contentType, messageId, type, timestamp, appId } = msg.properties
    await confirmed(ch, '', queue, msg.content, {
      persistent: true,
      contentType,
      messageId,
      type,
      timestamp,
      appId,
      headers,
    })
  }

  async function closeSubscription(sub: AmqpSubscription): Promise<void> {
    sub.closing = true
    subscriptions.delete(sub)
    // An attach stuck on an unresponsive broker must not hold up the close; once it gets
    // through it sees `closing` and closes its channel itself.
    if (sub.attaching) {
      await withDeadline(sub.attaching, Date.now() + timeoutMs, 'attach').catch(() => {})
    }
    const ch = sub.channel
    if (ch && sub.consumerTag) {
      await withDeadline(ch.cancel(sub.consumerTag), Date.now() + timeoutMs, 'cancel').catch(
        () => {},
      )
    }
    await Promise.allSettled([...sub.running])
    sub.channel = undefined
    // Unacked messages go back to the queue with the channel, for the next consumer.
    if (ch) await withDeadline(ch.close(), Date.now() + timeoutMs, 'close').catch(() => {})
  }

  ensureConnecting()

  return {
    async publish(envelope, { exchange = DEFAULT_EXCHANGE } = {}) {
      parseEnvelope(envelope)
      await send(exchange, envelope.type, Buffer.from(JSON.stringify(envelope)), {
        messageId: envelope.id,
        type: envelope.type,
        timestamp: Math.floor(Date.parse(envelope.occurred_at) / 1000),
        appId: envelope.source,
      })
    },

    async publishRaw(routingKey, body, { exchange = DEFAULT_EXCHANGE } = {}) {
      await send(exchange, routingKey, Buffer.from(body), {})
    },

    async subscribe(queue, patterns, handler, subscribeOpts = {}) {
      const { exchange, prefetch, maxAttempts } = checkSubscribeArgs(queue, patterns, subscribeOpts)
      const sub: AmqpSubscription = {
        queue,
        patterns: [...patterns],
        handler,
        exchange,
        prefetch,
        maxAttempts,
        conn: undefined,
        channel: undefined,
        consumerTag: undefined,
        attaching: undefined,
        running: new Set(),
        closing: false,
      }
      const deadline = Date.now() + timeoutMs
      subscriptions.add(sub)
      try {
        await connection(deadline)
        await withDeadline(ensureAttached(sub), deadline, `subscribe ${queue}`)
      } catch (err) {
        await closeSubscription(sub)
        if (err instanceof BusUnavailableError || err instanceof InvalidEnvelopeError) throw err
        throw unavailable(`subscribe ${queue} failed`, err)
      }
      const subscription: Subscription = { close: () => closeSubscription(sub) }
      return subscription
    },

    async deadLetters(queue) {
      return withChannel(async (ch) => {
        const dlq = dlqName(queue)
        try {
          await ch.checkQueue(dlq)
        } catch {
          return []
        }
        const letters: DeadLetter[] = []
        for (;;) {
          const msg = await ch.get(dlq, { noAck: false })
          if (!msg) break
          letters.push(toDeadLetter(msg))
        }
        // Closing the channel without acking puts every message back where it was.
        return letters
      })
    },

    async deadLetterCount(queue) {
      return withChannel(async (ch) => {
        try {
          return (await ch.checkQueue(dlqName(queue))).messageCount
        } catch {
          // 404: nobody subscribed to `queue` yet, so nothing was ever dead-lettered.
          return 0
        }
      })
    },

    async deleteQueue(queue) {
      const names = [
        queue,
        dlqName(queue),
        ...retryDelays(Number.MAX_SAFE_INTEGER, retryBaseMs, retryMaxMs).map((delayMs) =>
          retryQueueName(queue, delayMs),
        ),
      ]
      await withChannel(async (ch) => {
        for (const name of names) await ch.deleteQueue(name)
      })
    },

    async deleteExchange(exchange) {
      await withChannel(async (ch) => {
        await ch.deleteExchange(exchange)
      })
      if (pub) pub.exchanges.delete(exchange)
    },

    async ping() {
      const deadline = Date.now() + timeoutMs
      await connection(deadline)
    },

    async close() {
      if (closed) return
      closed = true
      wakeLoop?.()
      signal()
      await Promise.allSettled([...subscriptions].map(closeSubscription))
      const conn = model
      model = undefined
      pub = undefined
      if (!conn) return
      try {
        await withDeadline(conn.close(), Date.now() + timeoutMs, 'close')
      } catch {
        // No close-ok from a broker that stopped answering: drop the socket instead.
        ;(conn.connection as unknown as { stream?: { destroy(): void } }).stream?.destroy()
      }
    },
  }
}

function confirmed(
  ch: ConfirmChannel,
  exchange: string,
  routingKey: string,
  body: Buffer,
  props: Options.Publish,
): Promise<void> {
  return new Promise((resolve, reject) => {
    // publish throws at once on a closed channel; the executor turns that into a rejection.
    ch.publish(exchange, routingKey, body, props, (err: unknown) => (err ? reject(err) : resolve()))
  })
}

function toDeadLetter(msg: Message): DeadLetter {
  const body = msg.content.toString('utf8')
  const headers = msg.properties.headers ?? {}
  const decoded = decodeEnvelope(body)
  const reason: DeadLetter['reason'] = headers[REASON_HEADER] === 'failed' ? 'failed' : 'invalid'
  const letter: DeadLetter = {
    body,
    reason,
    attempts: headerCount(headers[FAILURES_HEADER]),
    error: headerText(headers[ERROR_HEADER]) ?? (decoded.ok ? '' : decoded.error),
  }
  if (decoded.ok) letter.envelope = decoded.envelope
  return letter
}

function dlqName(queue: string): string {
  return `${queue}.dlq`
}

function retryQueueName(queue: string, delayMs: number): string {
  return `${queue}.retry.${delayMs}ms`
}

/** The distinct delays of retries 1..maxAttempts-1; the cap makes the tail share one queue. */
function retryDelays(maxAttempts: number, baseMs: number, maxMs: number): number[] {
  const delays: number[] = []
  for (let failures = 1; failures < maxAttempts; failures++) {
    const delayMs = retryDelayMs(failures, baseMs, maxMs)
    if (!delays.includes(delayMs)) delays.push(delayMs)
    if (delayMs >= maxMs) break
  }
  return delays
}

function reconnectDelayMs(failures: number): number {
  const delayMs = Math.min(
    RECONNECT_DELAY_MIN_MS * 2 ** Math.min(failures - 1, 16),
    RECONNECT_DELAY_MAX_MS,
  )
  // Jitter, so replicas that lost the broker together do not all knock at the same instant.
  return Math.round(delayMs * (0.8 + Math.random() * 0.4))
}

function headerCount(value: unknown): number {
  const n = typeof value === 'number' ? value : Number(headerText(value))
  return Number.isSafeInteger(n) && n > 0 ? n : 0
}

function headerText(value: unknown): string | undefined {
  if (typeof value === 'string') return value
  if (Buffer.isBuffer(value)) return value.toString('utf8')
  if (typeof value === 'number' || typeof value === 'bigint') return String(value)
  return undefined
}

function withHeartbeat(url: string, seconds: number): string {
  const parsed = new URL(url)
  if (!parsed.searchParams.has('heartbeat')) parsed.searchParams.set('heartbeat', String(seconds))
  return parsed.toString()
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void
  const promise = new Promise<void>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

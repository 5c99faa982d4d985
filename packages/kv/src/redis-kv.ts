import { Redis } from 'ioredis'
import { assertDurationMs, KvUnavailableError, type Kv } from './kv.ts'

const COMMAND_TIMEOUT_MS_DEFAULT = 500
// The default (10 s) would let one black-holed connect attempt delay recovery by that much.
const CONNECT_TIMEOUT_MS = 2_000
const RECONNECT_DELAY_MIN_MS = 50
// Short enough that a restarted Redis is back in use within ~2 s, long enough not to spin.
const RECONNECT_DELAY_MAX_MS = 2_000

// One script so INCR and the window's expiry cannot be split by a crash or a concurrent caller
// (Kong #11846, APISIX #12592 counted wrongly with separate commands). A counter found without an
// expiry gets one too: otherwise its window would never reset.
const HIT_LUA = `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if count == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
`

// The gateway's hot path in one round trip: count the request, then read the keys that decide
// whether its token is revoked (PITFALLS: one script or pipeline costs less than two trips).
const HIT_AND_GET_LUA = `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if count == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
local values = {}
for i = 2, #KEYS do values[i - 1] = redis.call('GET', KEYS[i]) end
return {count, ttl, values}
`

// Replies from a reachable server that still mean "cannot serve right now".
const UNAVAILABLE_REPLY = /^(LOADING|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|BUSY)\b/

type HitCommand = {
  kvHit(key: string, windowMs: number): Promise<[number, number]>
  kvHitAndGet(numKeys: number, ...args: (string | number)[]): Promise<[number, number, (string | false | null)[]]>
}

/**
 * Options of {@link createRedisKv}. `url` is a `redis://` or `rediss://` URL; `prefix` is put in
 * front of every key, script keys included (e.g. `'auth:'`); `commandTimeoutMs` (default 500) bounds
 * both the wait for a connection and each command; `onConnectionError` sees each background
 * connection failure (refused, reset, auth), which is otherwise dropped because the same outage
 * already reaches callers as `KvUnavailableError`.
 */
export type RedisKvOptions = {
  url: string
  prefix?: string
  commandTimeoutMs?: number
  onConnectionError?: (err: Error) => void
}

/**
 * A {@link Kv} on Redis through ioredis, built to fail fast and heal by itself. While Redis is
 * unreachable every call rejects with `KvUnavailableError`: at once between reconnect attempts,
 * otherwise within about `2 × commandTimeoutMs`; nothing is queued offline and nothing is replayed
 * later. The client reconnects forever in the background with back-off capped at 2 s, so the same
 * instance works again once Redis is back: no restart, no new instance. Connection `error` events
 * never crash the process; the latest one becomes the `cause` of the next `KvUnavailableError`.
 *
 * @example
 * const kv = createRedisKv({ url: config.redisUrl, prefix: 'gw:', onConnectionError: (err) => log.warn({ err }, 'redis') })
 * await kv.set(`revoked:${jti}`, '1', { ttlMs: remainingLifetimeMs })
 */
export function createRedisKv(opts: RedisKvOptions): Kv {
  const commandTimeoutMs = opts.commandTimeoutMs ?? COMMAND_TIMEOUT_MS_DEFAULT
  assertDurationMs('commandTimeoutMs', commandTimeoutMs)

  const client = new Redis(opts.url, {
    keyPrefix: opts.prefix ?? '',
    // Queued commands would hang callers for the whole outage; reject at once instead.
    enableOfflineQueue: false,
    // 0 rejects commands in flight when the connection drops, and with no resend a hit the caller
    // already saw fail can never be counted later behind its back.
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: commandTimeoutMs,
    // Commands issued in one turn of the event loop leave in one write, and their replies come
    // back in one: under load the gateway makes about one Redis write per five requests instead
    // of one each, and Redis one per eight. A command queued behind a pipeline in flight starts
    // its timeout when sent, so a hung server still rejects it within about 2 × commandTimeoutMs.
    enableAutoPipelining: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: (times) =>
      Math.min(RECONNECT_DELAY_MIN_MS * 2 ** Math.min(times - 1, 16), RECONNECT_DELAY_MAX_MS),
  }) as Redis & HitCommand
  client.defineCommand('kvHit', { lua: HIT_LUA, numberOfKeys: 1 })
  client.defineCommand('kvHitAndGet', { lua: HIT_AND_GET_LUA })

  let closed = false
  let lastConnectionError: Error | undefined
  let nextReady: Promise<void> | undefined

  // Without a listener an 'error' event is thrown and kills the process on the first refused connect.
  client.on('error', (err: Error) => {
    lastConnectionError = err
    opts.onConnectionError?.(err)
  })
  client.on('ready', () => (lastConnectionError = undefined))

  function unavailable(state: string): KvUnavailableError {
    const reason = lastConnectionError ? `: ${lastConnectionError.message}` : ''
    return new KvUnavailableError(`redis ${state}${reason}`, { cause: lastConnectionError })
  }

  async function whenReady(): Promise<void> {
    if (closed || client.status === 'end') throw new KvUnavailableError('redis kv is closed')
    if (client.status === 'ready') return
    // Between attempts the connection is known to be down: waiting would only add latency to
    // every call of an outage.
    if (client.status === 'reconnecting') throw unavailable('unreachable, reconnecting')
    // A connection attempt is under way (fresh instance or reconnect); ioredis would reject at once
    // with the offline queue off, so give it the command timeout to become ready.
    nextReady ??= new Promise<void>((resolve) => {
      client.once('ready', () => {
        nextReady = undefined
        resolve()
      })
    })
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(unavailable(`not ready within ${commandTimeoutMs} ms (${client.status})`)),
        commandTimeoutMs,
      )
    })
    try {
      await Promise.race([nextReady, timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  async function run<T>(op: () => Promise<T>): Promise<T> {
    await whenReady()
    try {
      return await op()
    } catch (err) {
      throw toKvError(err)
    }
  }

  return {
    get: (key) => run(() => client.get(key)),

    async mget(keys) {
      if (keys.length === 0) return run(async () => [])
      return run(() => client.mget(...keys))
    },

    async set(key, value, { ttlMs, ifAbsent = false } = {}) {
      if (ttlMs !== undefined) assertDurationMs('ttlMs', ttlMs)
      const reply = await run(() => {
        if (ttlMs === undefined) {
          return ifAbsent ? client.set(key, value, 'NX') : client.set(key, value)
        }
        return ifAbsent
          ? client.set(key, value, 'PX', ttlMs, 'NX')
          : client.set(key, value, 'PX', ttlMs)
      })
      return reply === 'OK'
    },

    async setMany(entries) {
      for (const { ttlMs } of entries) if (ttlMs !== undefined) assertDurationMs('ttlMs', ttlMs)
      if (entries.length === 0) return run(async () => undefined)
      await run(async () => {
        const pipeline = client.pipeline()
        for (const { key, value, ttlMs } of entries) {
          if (ttlMs === undefined) pipeline.set(key, value)
          else pipeline.set(key, value, 'PX', ttlMs)
        }
        const results = await pipeline.exec()
        if (!results) throw new Error('pipeline was discarded')
        const failed = results.find(([err]) => err)
        if (failed) throw failed[0]
      })
    },

    async del(...keys) {
      if (keys.length === 0) return run(async () => 0)
      return run(() => client.del(...keys))
    },

    async hit(key, windowMs) {
      assertDurationMs('windowMs', windowMs)
      const [count, resetMs] = await run(() => client.kvHit(key, windowMs))
      return { count, resetMs }
    },

    async hitAndGet(key, windowMs, readKeys) {
      assertDurationMs('windowMs', windowMs)
      const [count, resetMs, raw] = await run(() => client.kvHitAndGet(1 + readKeys.length, key, ...readKeys, windowMs))
      // Lua turns a missing key (nil) into false inside a table.
      const values = readKeys.map((_, i) => (typeof raw[i] === 'string' ? (raw[i] as string) : null))
      return { count, resetMs, values }
    },

    async ttlMs(key) {
      const ms = await run(() => client.pttl(key))
      // PTTL answers -2 for a missing key and -1 for a key without expiry.
      return ms < 0 ? null : ms
    },

    async ping() {
      await run(() => client.ping())
    },

    async close() {
      if (closed) return
      closed = true
      if (client.status === 'ready') {
        try {
          await client.quit()
          return
        } catch {
          // quit needs a live connection; disconnect below drops the socket either way.
        }
      }
      client.disconnect()
    },
  }
}

function toKvError(err: unknown): unknown {
  if (err instanceof KvUnavailableError) return err
  // Everything ioredis raises without a server reply is about the connection: closed, not
  // writable, timed out, aborted, retries exhausted, unparseable stream.
  const answered = err instanceof Error && err.name === 'ReplyError'
  if (answered && !UNAVAILABLE_REPLY.test(err.message)) return err
  const reason = err instanceof Error ? err.message : String(err)
  return new KvUnavailableError(`redis unavailable: ${reason}`, { cause: err })
}

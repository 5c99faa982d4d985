import { assertDurationMs, KvUnavailableError, type Kv } from './kv.ts'

// Lazy expiry on every read keeps answers exact; the sweep only bounds memory held by keys
// nobody reads again (rate-limit windows of one-off clients).
const SWEEP_INTERVAL_MS = 10_000

type Entry = { value: string; expiresAt: number | null }

/**
 * An in-process {@link Kv}: a `Map` with expiry timestamps, expired lazily on access and swept
 * periodically by an unref'd timer, so it never keeps the process alive. Used when `REDIS_URL` is
 * unset; the gateway and auth then share one instance in one process, so create it once in the
 * composition root and close it once on shutdown. Nothing survives a restart.
 *
 * @example
 * const kv = config.redisUrl ? createRedisKv({ url: config.redisUrl }) : createMemoryKv()
 */
export function createMemoryKv(): Kv {
  const entries = new Map<string, Entry>()
  let closed = false

  const sweep = setInterval(() => {
    const now = Date.now()
    for (const [key, entry] of entries) if (isExpired(entry, now)) entries.delete(key)
  }, SWEEP_INTERVAL_MS)
  sweep.unref()

  function ensureOpen(): void {
    if (closed) throw new KvUnavailableError('memory kv is closed')
  }

  function live(key: string, now = Date.now()): Entry | undefined {
    const entry = entries.get(key)
    if (entry && isExpired(entry, now)) {
      entries.delete(key)
      return undefined
    }
    return entry
  }

  function write(key: string, value: string, ttlMs: number | undefined): void {
    entries.set(key, { value, expiresAt: ttlMs === undefined ? null : Date.now() + ttlMs })
  }

  const kv: Kv = {
    async get(key) {
      ensureOpen()
      return live(key)?.value ?? null
    },

    async mget(keys) {
      ensureOpen()
      const now = Date.now()
      return keys.map((key) => live(key, now)?.value ?? null)
    },

    async set(key, value, opts = {}) {
      ensureOpen()
      if (opts.ttlMs !== undefined) assertDurationMs('ttlMs', opts.ttlMs)
      if (opts.ifAbsent && live(key)) return false
      write(key, value, opts.ttlMs)
      return true
    },

    async setMany(list) {
      ensureOpen()
      for (const { ttlMs } of list) if (ttlMs !== undefined) assertDurationMs('ttlMs', ttlMs)
      for (const { key, value, ttlMs } of list) write(key, value, ttlMs)
    },

    async del(...keys) {
      ensureOpen()
      let removed = 0
      for (const key of new Set(keys)) if (live(key) && entries.delete(key)) removed++
      return removed
    },

    async hit(key, windowMs) {
      ensureOpen()
      assertDurationMs('windowMs', windowMs)
      const now = Date.now()
      const entry = live(key, now)
      // Same rule as Redis INCR: a non-integer value is an error, not a silent reset.
      if (entry && !/^-?\d+$/.test(entry.value))
        throw new Error(`value at ${key} is not an integer`)
      const count = entry ? Number(entry.value) + 1 : 1
      // A counter without expiry would never reset its window; give it one (same as the Lua script).
      const expiresAt = entry?.expiresAt ?? now + windowMs
      entries.set(key, { value: String(count), expiresAt })
      return { count, resetMs: expiresAt - now }
    },

    async hitAndGet(key, windowMs, readKeys) {
      const { count, resetMs } = await kv.hit(key, windowMs)
      const now = Date.now()
      return { count, resetMs, values: readKeys.map((k) => live(k, now)?.value ?? null) }
    },

    async ttlMs(key) {
      ensureOpen()
      const now = Date.now()
      const expiresAt = live(key, now)?.expiresAt
      return expiresAt == null ? null : expiresAt - now
    },

    async ping() {
      ensureOpen()
    },

    async close() {
      closed = true
      clearInterval(sweep)
    },
  }
  return kv
}

function isExpired(entry: Entry, now: number): boolean {
  return entry.expiresAt !== null && entry.expiresAt <= now
}

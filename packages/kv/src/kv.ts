/**
 * A small key-value store port: strings in, strings out, optional per-key expiry, and an atomic
 * fixed-window counter for rate limits and brute-force locks. `createMemoryKv` backs it in process,
 * `createRedisKv` with Redis; `describeKvContract` holds the behaviour both must share.
 *
 * Every operation rejects with {@link KvUnavailableError} when the store cannot be reached, so a
 * caller decides in one place whether to fail open or closed. Durations are whole milliseconds > 0;
 * anything else is a programming error and rejects with a `RangeError`.
 */
export interface Kv {
  /** The value of `key`, or `null` when it is missing or expired. */
  get(key: string): Promise<string | null>
  /** The values of `keys` in the same order, `null` for each missing one; one round trip. */
  mget(keys: readonly string[]): Promise<(string | null)[]>
  /**
   * Stores `value` under `key`, replacing any previous value and expiry (`ttlMs` unset → no expiry).
   * Returns false when `ifAbsent` was set and the key existed, in which case nothing changes.
   */
  set(key: string, value: string, opts?: { ttlMs?: number; ifAbsent?: boolean }): Promise<boolean>
  /**
   * Writes every entry in one round trip (a pipeline, not a transaction: after a failure some
   * entries may be written); used to restore revocation lists after the store lost its data.
   */
  setMany(entries: readonly { key: string; value: string; ttlMs?: number }[]): Promise<void>
  /** Deletes `keys` and returns how many of them existed. */
  del(...keys: string[]): Promise<number>
  /**
   * Atomic fixed-window counter: increments `key` and starts a `windowMs` expiry on the first hit
   * of a window. Returns the count after this increment and the ms until the window resets. One
   * atomic step (a Lua script on Redis), so concurrent callers never lose counts.
   *
   * @example
   * const { count, resetMs } = await kv.hit(`login:${accountId}:${ip}`, 60_000)
   * if (count > MAX_ATTEMPTS_PER_MINUTE) throw new AppError('rate_limited')
   */
  hit(key: string, windowMs: number): Promise<{ count: number; resetMs: number }>
  /**
   * `hit` on `key`, then the values of `readKeys`, in one atomic round trip: the gateway counts a
   * request and reads the keys that revoke its token with a single call.
   */
  hitAndGet(key: string, windowMs: number, readKeys: readonly string[]): Promise<{ count: number; resetMs: number; values: (string | null)[] }>
  /** Ms until `key` expires; `null` when the key is missing or has no expiry. */
  ttlMs(key: string): Promise<number | null>
  /** Resolves when the store answers; for readiness checks. */
  ping(): Promise<void>
  /** Releases the connection or timers; idempotent. Every later operation rejects with `KvUnavailableError`. */
  close(): Promise<void>
}

/**
 * Thrown by every {@link Kv} operation when the store cannot be reached: connection refused or
 * lost, command timed out, store closed. The driver's original error is kept as `cause`. Errors the
 * server answers for a reachable store (a wrong type, a bad script) are not wrapped.
 */
export class KvUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'KvUnavailableError'
  }
}

/** Rejects durations Redis would refuse (`PX 0`, fractions), so both stores fail alike. */
export function assertDurationMs(name: string, ms: number): void {
  if (!Number.isSafeInteger(ms) || ms <= 0) {
    throw new RangeError(`${name} must be a positive whole number of milliseconds, got ${ms}`)
  }
}

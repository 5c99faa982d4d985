import { KvUnavailableError, type Kv } from '@platform/kv'
import { AppError, hmacHex, type Logger } from '@platform/platform'

/** One brute-force rule of CONTRACT §4: `failures` within `windowS` lock for a growing period. */
export type LockoutRule = {
  failures: number
  windowS: number
  /** The first lock's length; each further lock within a day doubles it. */
  lockS: number
  /** The longest a lock gets: locks grow, but never for ever. */
  maxLockS: number
}

/** `perIp`: one account from one client IP; `perAccount`: one account from any IPs. */
export type LockoutSettings = { perIp: LockoutRule; perAccount: LockoutRule }

/**
 * CONTRACT §4 defaults. The account-wide lock is capped lower than the per-IP one: anyone can
 * trip it for someone else's account (PITFALLS, Keycloak #46164), so it must stay short.
 */
export const DEFAULT_LOCKOUT: LockoutSettings = {
  perIp: { failures: 5, windowS: 300, lockS: 300, maxLockS: 86_400 },
  perAccount: { failures: 20, windowS: 600, lockS: 600, maxLockS: 3_600 },
}

/** How long earlier locks count towards the back-off (a fixed window from the first lock). */
const BACKOFF_MEMORY_MS = 86_400_000

/** The length of the `level`-th lock (1-based) under `rule`: doubling, capped. */
export function lockDurationS(rule: LockoutRule, level: number): number {
  const doubled = rule.lockS * 2 ** Math.min(Math.max(level, 1) - 1, 30)
  return Math.min(doubled, Math.max(rule.maxLockS, rule.lockS))
}

export type LockoutDeps = {
  kv: Kv
  settings: LockoutSettings
  /** Keys the hashes of e-mails and IPs; the store never sees either in clear. */
  hashKey: Buffer
  log: Logger
  onLock?: (scope: Scope) => void
  /** Writes `auth.account.locked` (CONTRACT §4: each lock raises an audit alert); failures are logged. */
  onLocked?: (lock: { scope: Scope; email: string; until: Date }) => Promise<void>
}

type Scope = 'ip' | 'account'

/** One login attempt that passed the lock check; report how the password check went. */
export type LoginAttempt = {
  /** The password was wrong: the attempt stays counted; reaching the limit engages the lock. */
  failed(): Promise<void>
  /** The password was right: the failure counters start over (an active lock is untouched). */
  succeeded(): Promise<void>
}

const keys = {
  generation: (account: string) => `lockout:gen:${account}`,
  count: (scope: Scope, id: string) => `lockout:${scope}:n:${id}`,
  lock: (scope: Scope, id: string) => `lockout:${scope}:lock:${id}`,
  level: (scope: Scope, id: string) => `lockout:${scope}:level:${id}`,
}

function accountId(hashKey: Buffer, email: string): string {
  return hmacHex(hashKey, `account\u0000${email.trim().toLowerCase()}`)
}

/**
 * The brute-force guard of CONTRACT §4, on the shared store so every auth replica counts
 * together. Call it before the password is looked at: it counts the attempt first, atomically
 * (`Kv.hit`), so 30 concurrent guesses get counts 1..30 and only those within the limit are ever
 * checked against the hash (Zitadel GHSA-7h8m was bypassed by counting after the check). The
 * per-IP counter is hit first and an attempt refused by it never reaches the account-wide one:
 * one client cannot lock an account for everybody faster than by real failures.
 *
 * Throws 423 `account_locked` (with `Retry-After`) during a lock, before any user lookup, so
 * existing and unknown accounts answer alike; 503 `dependency_unavailable` when the store is
 * unreachable: without the counters, guessing would be unlimited (fail closed).
 */
export async function guardLogin(deps: LockoutDeps, email: string, ip: string): Promise<LoginAttempt> {
  const account = accountId(deps.hashKey, email)
  try {
    const [generation, accountLock] = await deps.kv.mget([keys.generation(account), keys.lock('account', account)])
    if (accountLock) throw lockedError(Number(accountLock))
    // The generation moves on when the account is unlocked (password reset): every per-IP
    // counter and lock of the account is then left behind at once, without finding them.
    const pair = hmacHex(deps.hashKey, `pair\u0000${generation ?? '0'}\u0000${email.trim().toLowerCase()}\u0000${ip}`)
    const pairLock = await deps.kv.get(keys.lock('ip', pair))
    if (pairLock) throw lockedError(Number(pairLock))

    const perIp = await deps.kv.hit(keys.count('ip', pair), deps.settings.perIp.windowS * 1000)
    if (perIp.count > deps.settings.perIp.failures) throw lockedError(await engage(deps, 'ip', pair, email))
    const perAccount = await deps.kv.hit(keys.count('account', account), deps.settings.perAccount.windowS * 1000)
    if (perAccount.count > deps.settings.perAccount.failures) throw lockedError(await engage(deps, 'account', account, email))

    return {
      async failed() {
        await bestEffort(deps, async () => {
          if (perIp.count >= deps.settings.perIp.failures) await engage(deps, 'ip', pair, email)
          if (perAccount.count >= deps.settings.perAccount.failures) await engage(deps, 'account', account, email)
        })
      },
      async succeeded() {
        await bestEffort(deps, () => deps.kv.del(keys.count('ip', pair), keys.count('account', account)))
      },
    }
  } catch (error) {
    throw storeFailure(error)
  }
}

/**
 * Lifts every brute-force lock of an account and forgets its failures and back-off, for all IPs
 * at once. A completed password reset calls it: whoever can read the account's mail is its
 * owner, and must not stay locked out by someone else's guessing.
 */
export async function unlockAccount(deps: Pick<LockoutDeps, 'kv' | 'hashKey' | 'log'>, email: string): Promise<void> {
  const account = accountId(deps.hashKey, email)
  try {
    // Outlives every per-IP key of the old generation (their longest life is the back-off memory).
    await deps.kv.hit(keys.generation(account), 2 * BACKOFF_MEMORY_MS)
    await deps.kv.del(keys.count('account', account), keys.lock('account', account), keys.level('account', account))
  } catch (error) {
    throw storeFailure(error)
  }
  deps.log.info({ account_hash: account.slice(0, 16) }, 'account unlocked')
}

/**
 * Starts a lock unless one is already on (concurrent attempts over the limit start exactly one,
 * so the back-off grows once per lock, not once per request). Returns when the lock ends (ms).
 */
async function engage(deps: LockoutDeps, scope: Scope, id: string, email: string): Promise<number> {
  const rule = scope === 'ip' ? deps.settings.perIp : deps.settings.perAccount
  const now = Date.now()
  const provisional = now + rule.lockS * 1000
  const won = await deps.kv.set(keys.lock(scope, id), String(provisional), { ttlMs: rule.lockS * 1000, ifAbsent: true })
  if (!won) return Number((await deps.kv.get(keys.lock(scope, id))) ?? provisional)
  const { count: level } = await deps.kv.hit(keys.level(scope, id), BACKOFF_MEMORY_MS)
  const seconds = lockDurationS(rule, level)
  const until = now + seconds * 1000
  if (seconds !== rule.lockS) await deps.kv.set(keys.lock(scope, id), String(until), { ttlMs: seconds * 1000 })
  // The event point of CONTRACT §4 ("each lock raises an audit alert"); hashed keys only.
  deps.log.warn({ scope, key_hash: id.slice(0, 16), level, lock_s: seconds }, 'account locked')
  deps.onLock?.(scope)
  if (deps.onLocked) {
    // The lock lives in the store, not in a row: its event goes out in a transaction of its own.
    await deps.onLocked({ scope, email, until: new Date(until) }).catch((error: unknown) => deps.log.error({ err: error }, 'auth.account.locked not written'))
  }
  return until
}

function lockedError(untilMs: number): AppError {
  const retryAfterS = Math.max(1, Math.ceil(((Number.isFinite(untilMs) ? untilMs : Date.now()) - Date.now()) / 1000))
  return new AppError('account_locked', 'Too many failed logins; try again later', { headers: { 'Retry-After': String(retryAfterS) } })
}

function storeFailure(error: unknown): unknown {
  if (error instanceof AppError) return error
  if (error instanceof KvUnavailableError) {
    return new AppError('dependency_unavailable', 'Login protection is unavailable; try again shortly', { cause: error })
  }
  return error
}

/** After the password check the answer is decided; a store hiccup here must not change it. */
async function bestEffort(deps: LockoutDeps, step: () => Promise<unknown>): Promise<void> {
  try {
    await step()
  } catch (error) {
    deps.log.warn({ err: error }, 'brute-force counters not updated; the next attempt still counts')
  }
}

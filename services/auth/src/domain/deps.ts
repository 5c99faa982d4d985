import type { KeyObject } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { Logger } from '@platform/platform'
import type { Jwks, SigningKey } from '@platform/tokens'
import type { AuthEvents } from '../events/publish.ts'
import type { AuthDatabase } from '../store/schema.ts'
import type { LockoutDeps } from './lockout.ts'
import type { RevocationList } from './revocation-list.ts'

/** Token settings the domain needs (CONTRACT §1, §4). */
export type TokenSettings = {
  issuer: string
  audience: string
  accessTokenTtlSeconds: number
  refreshTokenTtlSeconds: number
  refreshReuseLeewaySeconds: number
  /** Derives refresh successors and keyed hashes; never leaves the service. */
  tokenSecret: string
}

/** Signing keys: the active one signs; the published ones verify and make up the JWKS. */
export type KeyRing = {
  active(): SigningKey
  jwks(): Jwks
  /** The public key of `kid`; an unknown kid re-reads the key store (rate-limited). */
  publicKey(kid: string): Promise<KeyObject | undefined>
  /** Makes a new key the active one; the old one stays published until its tokens expired. */
  rotate(): Promise<string>
}

/** What the domain reports for metrics; the composition root backs it with Prometheus counters. */
export type AuthCounters = {
  /** One stored hash checked against a presented password (or the dummy hash for unknown accounts). */
  passwordChecked(result: 'match' | 'mismatch' | 'no_account'): void
  /** One login attempt answered, however it ended. */
  loginFinished(outcome: LoginOutcome): void
  /** A spent refresh token came back and its session was revoked. */
  refreshReuseDetected(): void
}

/** How a login attempt ended (`auth_logins_total{outcome}`); `unavailable`: a dependency was down. */
export type LoginOutcome = 'success' | 'failure' | 'locked' | 'disabled' | 'unavailable' | 'error'

/** What auth's use cases depend on; built once in the composition root. */
export type AuthDeps = {
  db: Kysely<AuthDatabase>
  revocations: RevocationList
  keys: KeyRing
  tokens: TokenSettings
  lockout: LockoutDeps
  counters: AuthCounters
  /** The outbox writer (CONTRACT §7); the relay started in `start.ts` publishes the rows. */
  events: AuthEvents
  log: Logger
  now?: () => Date
}

export const nowOf = (deps: Pick<AuthDeps, 'now'>): Date => (deps.now ? deps.now() : new Date())

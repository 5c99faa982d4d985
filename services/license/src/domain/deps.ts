import type { Kysely, Transaction } from 'kysely'
import type { Logger } from '@platform/platform'
import type { EventWriter } from '../events/publish.ts'
import type { LicenseDatabase } from '../store/schema.ts'
import type { KeyRing } from './key-ring.ts'
import type { RevokedLicenses } from './revoked-licenses.ts'
import type { TokenTiming } from './license.ts'

/** Finds a caller's e-mail address (for claiming licenses issued to it); undefined when unknown. */
export type EmailDirectory = { emailOf(userId: string, accessToken: string): Promise<string | undefined> }

/** What the license use cases depend on; built once in the composition root. */
export type LicenseDeps = {
  db: Kysely<LicenseDatabase>
  /** Runs `fn` in one transaction and wakes the outbox relay after the commit. */
  inTransaction<T>(fn: (trx: Transaction<LicenseDatabase>) => Promise<T>): Promise<T>
  events: EventWriter
  keys: KeyRing
  /** HMAC key of stored license keys (and of `ip_hash` in events); never leaves the service. */
  keySecret: string
  tokens: TokenTiming & { issuer: string }
  abuse: { fingerprints: number; windowSeconds: number }
  resellerQuotaDefault: number
  emails: EmailDirectory
  /** Revoked licenses in the shared store: validation's fast negative path (PostgreSQL stays the record). */
  revokedLicenses: RevokedLicenses
  /** What the domain reports for metrics; the composition root backs it with Prometheus counters. */
  counters?: { activationFinished(outcome: string): void }
  log: Logger
  now?: () => Date
}

export const nowOf = (deps: Pick<LicenseDeps, 'now'>): Date => (deps.now ? deps.now() : new Date())

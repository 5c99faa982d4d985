import { createEnvelope, type EventEnvelope, type EventOutcome } from '@platform/bus'
import { writeEvent } from '@platform/bus/outbox'
import { currentRequestId, hmacHex, sealSecret } from '@platform/platform'
import type { Transaction } from 'kysely'
import type { AuthDatabase } from '../store/schema.ts'
import { currentOrigin } from './origin.ts'

/** Every event the auth service publishes (CONTRACT §7; docs/events.md lists their `data`). */
export type AuthEventType =
  | 'auth.user.registered'
  | 'auth.login.succeeded'
  | 'auth.login.failed'
  | 'auth.account.locked'
  | 'auth.session.revoked'
  | 'auth.refresh_token.reused'
  | 'auth.password.changed'
  | 'auth.password_reset.requested'
  | 'auth.password_reset.completed'
  | 'auth.email.verified'
  | 'auth.user.roles_changed'
  | 'auth.user.disabled'
  | 'auth.tokens.revoked_all'
  | 'auth.signing_key.rotated'

export type AuthEvent = {
  type: AuthEventType
  subject?: { type: 'user' | 'email' | 'session'; id: string }
  outcome?: EventOutcome
  /** Overrides the caller taken from the request's bearer token. */
  actorId?: string
  data: Record<string, unknown>
}

/**
 * The outbox writer of the auth service. Events carry no passwords, tokens (except the e-mail
 * link tokens of verification and password reset, sealed) or raw IPs: the address becomes
 * `ip_hash`, an unknown e-mail a keyed hash.
 */
export type AuthEvents = {
  /** Writes the event to the outbox inside `trx`: it commits with the change it reports, or not at all. */
  write(trx: Transaction<AuthDatabase>, event: AuthEvent): Promise<void>
  /**
   * The event's validated envelope, for a store statement that writes its outbox row itself,
   * together with the change it reports (`outboxRowOf`; one round trip instead of a transaction).
   */
  envelope(event: AuthEvent): EventEnvelope
  /** Wakes the relay after a transaction that wrote events committed. */
  notify(): void
  /** The subject for an e-mail with no account: `{type:'email', id:<keyed hash>}`. */
  emailSubject(email: string): { type: 'email'; id: string }
  /** Seals a link token for the notification service (MAIL_TOKEN_KEY). */
  sealToken(token: string): string
}

export function createAuthEvents(opts: { ipHashKey: string; mailTokenKey: string; notify?: () => void }): AuthEvents {
  const envelope = (event: AuthEvent): EventEnvelope => {
    const origin = currentOrigin()
    const requestId = currentRequestId()
    const actorId = event.actorId ?? origin?.actorId()
    return createEnvelope({
      type: event.type,
      source: 'auth',
      data: event.data,
      ...(event.subject ? { subject: event.subject } : {}),
      ...(event.outcome ? { outcome: event.outcome } : {}),
      ...(actorId ? { actor_id: actorId } : {}),
      ...(requestId ? { request_id: requestId } : {}),
      ...(origin?.ip ? { ip_hash: hmacHex(opts.ipHashKey, origin.ip) } : {}),
      ...(origin?.userAgent ? { user_agent: origin.userAgent } : {}),
    })
  }
  return {
    write: (trx, event) => writeEvent(trx, envelope(event)),
    envelope,
    notify: () => opts.notify?.(),
    emailSubject: (email) => ({ type: 'email', id: hmacHex(opts.ipHashKey, email.trim().toLowerCase()) }),
    sealToken: (token) => sealSecret(opts.mailTokenKey, token),
  }
}

/**
 * Runs `fn` in a transaction and wakes the relay after it committed. `events` absent (the
 * offline CLI without secrets) writes nothing.
 */
export async function inEventTransaction<T>(
  deps: { db: { transaction(): { execute<R>(fn: (trx: Transaction<AuthDatabase>) => Promise<R>): Promise<R> } }; events?: AuthEvents | undefined },
  fn: (trx: Transaction<AuthDatabase>, emit: (event: AuthEvent) => Promise<void>) => Promise<T>,
): Promise<T> {
  const result = await deps.db.transaction().execute((trx) => fn(trx, (event) => (deps.events ? deps.events.write(trx, event) : Promise.resolve())))
  deps.events?.notify()
  return result
}

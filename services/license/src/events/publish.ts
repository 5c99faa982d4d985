import type { Transaction } from 'kysely'
import { createEnvelope, type EventOutcome } from '@platform/bus'
import { writeEvent } from '@platform/bus/outbox'
import { currentRequestId } from '@platform/platform'
import type { LicenseDatabase } from '../store/schema.ts'

/**
 * Every event the license service publishes (CONTRACT §7; the README's License section lists their `data`).
 * None carries a full license key or a raw fingerprint: keys appear as `key_last4`, machines by
 * activation id and fingerprint hash.
 */
export type LicenseEventType =
  | 'license.license.issued'
  | 'license.license.activated'
  | 'license.license.deactivated'
  | 'license.license.revoked'
  | 'license.license.suspended'
  | 'license.license.reactivated'
  | 'license.license.key_reissued'
  | 'license.license.claimed'
  | 'license.license.abuse_cleared'
  | 'license.abuse_suspected'
  | 'license.validation.failed'
  | 'license.reseller_quota.changed'

/** Who and where an event came from, as far as the request tells. */
export type EventOrigin = { actorId?: string | undefined; ipHash?: string | undefined; userAgent?: string | undefined }

export type LicenseEvent = {
  type: LicenseEventType
  subject: { type: 'license' | 'user'; id: string }
  outcome?: EventOutcome
  origin?: EventOrigin
  data: Record<string, unknown>
}

export type EventWriter = {
  /** Writes the event to the outbox inside `trx`: it commits with the change it reports, or not at all. */
  write(trx: Transaction<LicenseDatabase>, event: LicenseEvent): Promise<void>
}

/** The outbox writer of the license service; the relay started in `start.ts` publishes the rows. */
export function createEventWriter(): EventWriter {
  return {
    async write(trx, event) {
      const origin = event.origin ?? {}
      const requestId = currentRequestId()
      await writeEvent(
        trx,
        createEnvelope({
          type: event.type,
          source: 'license',
          subject: event.subject,
          data: event.data,
          ...(event.outcome ? { outcome: event.outcome } : {}),
          ...(origin.actorId ? { actor_id: origin.actorId } : {}),
          ...(requestId ? { request_id: requestId } : {}),
          ...(origin.ipHash ? { ip_hash: origin.ipHash } : {}),
          ...(origin.userAgent ? { user_agent: origin.userAgent } : {}),
        }),
      )
    },
  }
}
